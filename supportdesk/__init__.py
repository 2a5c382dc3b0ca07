"""supportdesk: LLM agent networks worked durably, with humans in the loop."""
