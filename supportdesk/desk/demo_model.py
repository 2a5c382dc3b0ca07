"""The offline demo model: plays the support scenario deterministically, with no API key.

It routes crash reports and critical tickets to Technical Support, asks a developer on critical
tickets, and answers from the knowledge base otherwise. Its text says it is the demo model.
The same decisions also drive the fake Anthropic API of the tests (`demo_blocks`).
"""

import hashlib
import json
import re
from typing import Any

from agents.models import InferenceRequest, InferenceResponse, Usage

LABEL = "offline demo model"
CRASH_WORDS = re.compile(r"crash|error|exception|outage|down|fail|broken|500", re.IGNORECASE)
PRIORITY = re.compile(r"\((low|medium|high|critical) priority\)")


def _conversation(messages: list[dict]) -> tuple[str, dict[str, list[Any]]]:
    """The ticket text (first user message) and each tool's results so far, by tool name (and
    each tool's proposed inputs, under "<name>.input")."""
    first = messages[0]["content"]
    ticket = first if isinstance(first, str) else " ".join(b.get("text", "") for b in first)
    names: dict[str, str] = {}
    results: dict[str, list[Any]] = {}
    for message in messages:
        if not isinstance(message["content"], list):
            continue
        for block in message["content"]:
            if block.get("type") == "tool_use":
                names[block["id"]] = block["name"]
                results.setdefault(f"{block['name']}.input", []).append(block.get("input"))
            elif block.get("type") == "tool_result":
                try:
                    value = json.loads(block.get("content") or "null")
                except (TypeError, ValueError):
                    value = block.get("content")
                results.setdefault(names.get(block["tool_use_id"], "?"), []).append(value)
    return ticket, results


def _agents_spoke(messages: list[dict]) -> bool:
    return any(m["role"] == "assistant" for m in messages)


def demo_blocks(*, messages: list[dict], tools: list[str], labelled: bool = True) -> list[dict]:
    """The demo's next content blocks for a request with these messages and tool names."""
    say = (lambda text: f"[{LABEL}] {text}") if labelled else (lambda text: text)
    ticket, results = _conversation(messages)
    critical = (m := PRIORITY.search(ticket)) is not None and m.group(1) == "critical"
    technical = critical or bool(CRASH_WORDS.search(ticket))
    title = ticket.split(":", 1)[-1].strip().splitlines()[0][:120] if ticket else "the ticket"

    if "select_agent" in tools:  # the supervisor
        if _agents_spoke(messages):
            return [_tool("done", {"summary": say("The customer has been answered.")})]
        agent = "Technical Support" if technical else "Customer Support"
        reason = "a crash or critical issue" if technical else "a product question"
        return [_tool("select_agent", {"name": agent, "reason": say(f"Looks like {reason}.")})]

    if "reply_to_customer" in results:
        after_review = _after_review(results, say)
        if after_review is not None:
            return after_review
        return [{"type": "text", "text": say("I have replied to the customer; handing back.")}]

    if "ask_developer" in tools:  # Technical Support
        if "search_latest_release_notes" not in results:
            return [_tool("search_latest_release_notes", {"query": title})]
        notes = results["search_latest_release_notes"][-1] or {}
        latest = (notes.get("release_notes") or [{}])[0] if isinstance(notes, dict) else {}
        if critical and "ask_developer" not in results:
            return [
                {"type": "text", "text": say("This is critical; I need a developer's input.")},
                _tool(
                    "ask_developer",
                    {
                        "question": f"Customer reports: {title}. Is this a known issue, and "
                        "what should we tell them?",
                        "context": f"Latest release {latest.get('version', 'unknown')}: "
                        f"{latest.get('notes', 'no release notes found')[:300]}",
                    },
                ),
            ]
        developer = (results.get("ask_developer") or [{}])[-1] or {}
        if developer.get("developerResponse"):
            body = f"Our engineering team says: {developer['developerResponse']}"
        else:
            body = (
                f'We are investigating "{title}". Release {latest.get("version", "")} is the '
                "latest version; we will follow up as soon as engineering has a fix."
            )
        return [_tool("reply_to_customer", {"message": say(body)})]

    # Customer Support
    if "search_knowledge_base" not in results:
        return [_tool("search_knowledge_base", {"query": title})]
    found = results["search_knowledge_base"][-1] or {}
    articles = found.get("articles", []) if isinstance(found, dict) else []
    if articles:
        body = f"{articles[0]['title']}: {articles[0]['body'][:500]}"
    else:
        body = f'Thanks for reaching out about "{title}". A specialist will follow up shortly.'
    return [_tool("reply_to_customer", {"message": say(body)})]


def _after_review(results: dict, say) -> list[dict] | None:
    """A reviewer decided on the last proposed reply: propose again after a rejection or with
    their guidance; give up after two rejections or when nobody decided. None: it was sent."""
    last = results["reply_to_customer"][-1]
    if not isinstance(last, dict) or last.get("sent"):
        return None
    proposed = (results.get("reply_to_customer.input") or [{}])[-1] or {}
    rejections = sum(1 for r in results["reply_to_customer"] if isinstance(r, dict)
                     and r.get("rejected"))  # fmt: skip
    if last.get("rejected") and rejections < 2:
        reason = last.get("error", "").split(": ", 1)[-1].split(". It did not run")[0]
        body = (proposed.get("message") or "").removeprefix(f"[{LABEL}] ")
        return [_tool("reply_to_customer",
                      {"message": say(f"{body} (Revised after review: {reason}.)")})]  # fmt: skip
    if last.get("reviewer_guidance"):
        return [_tool("reply_to_customer", {"message": say(last["reviewer_guidance"])})]
    return [{"type": "text", "text": say("My reply was not approved; I am leaving this ticket "
                                         "to a human.")}]  # fmt: skip


def _tool(name: str, input: dict) -> dict:
    digest = hashlib.sha256(json.dumps([name, input], sort_keys=True).encode()).hexdigest()[:20]
    return {"type": "tool_use", "id": f"toolu_demo_{digest}", "name": name, "input": input}


class DemoModel:
    """The `agents` model protocol, answered by `demo_blocks`."""

    name = "offline-demo"

    def infer(self, request: InferenceRequest) -> InferenceResponse:
        blocks = demo_blocks(messages=request.messages, tools=[t.name for t in request.tools])
        uses_tools = any(b["type"] == "tool_use" for b in blocks)
        return InferenceResponse(
            content=blocks,
            stop_reason="tool_use" if uses_tools else "end_turn",
            usage=Usage(input_tokens=0, output_tokens=0),
            model=self.name,
            label=LABEL,
        )
