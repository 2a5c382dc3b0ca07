// supportdesk: live countdowns, keeping the inbox's cards in the chosen order as pushes arrive,
// and filters that apply on change. All of the pages' script is here: the CSP allows no inline script.
(function () {
  "use strict";
  var RANK = { critical: 0, high: 1, medium: 2, low: 3 };

  function span(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
    var m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m";
    if (m) return m + "m " + (m < 10 ? s + "s" : "");
    return s + "s";
  }

  function tick() {
    var now = Date.now(), expiredCards = false;
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var left = (Date.parse(el.dataset.expires) - now) / 1000;
      el.textContent = left > 0 ? span(left) + " left" : "expired";
      el.classList.toggle("urgent", left > 0 && left < 900);
      if (left > 0) return;
      // Past its deadline nothing is taken any more: the card leaves the list, the question
      // page's forms stop sending (the server's word follows when the run times out).
      var card = el.closest(".card");
      if (card) { card.remove(); expiredCards = true; }
      var state = el.closest("#question-state");
      if (state && state.dataset.open === "true") { state.dataset.open = "false"; followQuestionState(); }
    });
    if (expiredCards) sortCards();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = span((now - Date.parse(el.dataset.since)) / 1000);
    });
  }

  function sortCards() {
    var list = document.getElementById("question-list");
    if (!list) return;
    var newest = document.body.dataset.sort === "newest";
    var cards = Array.prototype.slice.call(list.children);
    cards.sort(function (a, b) {
      if (newest) return b.dataset.created - a.dataset.created;
      return (RANK[a.dataset.priority] - RANK[b.dataset.priority]) ||
        (a.dataset.expiresAt - b.dataset.expiresAt);
    });
    cards.forEach(function (card) { list.appendChild(card); });
    // The list holds a page or a few: the counts are the server's (#inbox-totals, sent again over
    // the WebSocket after changes). The Pending tab counts every pending request, whatever the
    // filters; the title what this view shows.
    var totals = document.getElementById("inbox-totals");
    var count = document.getElementById("pending-count");
    if (totals && count) count.textContent = totals.dataset.pending;
    groupIncidents(list);
    markMine(list);
    var region = list.closest(".live-region");
    if (region) region.classList.toggle("is-empty", cards.length === 0);
    showCountInTitle();
    notifyNewCards(cards);
    refreshPreview();
  }

  // One card is rendered for every reviewer alike: the page turns its own reviewer's name into "you".
  function markMine(root) {
    var me = document.body.dataset.userId;
    root.querySelectorAll(".claim[data-user]").forEach(function (el) {
      var mine = el.dataset.user === me;
      if (mine) el.textContent = el.dataset.you;
      el.closest(".card").classList.toggle("is-mine", mine);
    });
  }

  // An incident's waiting questions show as one card: "3 tickets ask: …", its tickets listed
  // below, and one answer for all on the question page. The others stay in the list, hidden.
  function groupIncidents(list) {
    list.querySelectorAll(".group-banner, .group-members").forEach(function (el) { el.remove(); });
    var groups = {};
    Array.prototype.forEach.call(list.children, function (card) {
      card.hidden = false;
      card.classList.remove("group-head");
      if (card.dataset.group) (groups[card.dataset.group] = groups[card.dataset.group] || []).push(card);
    });
    Object.keys(groups).forEach(function (key) {
      var cards = groups[key];
      if (cards.length < 2) return;
      var head = cards[0];
      head.classList.add("group-head");
      cards.slice(1).forEach(function (card) { card.hidden = true; });
      var banner = document.createElement("p");
      banner.className = "group-banner";
      var badge = document.createElement("span");
      badge.className = "badge badge-incident";
      badge.textContent = "incident";
      var said = document.createElement("strong");
      said.textContent = cards.length + " tickets ask:";
      banner.append(badge, " ", said);
      var asker = head.querySelector(".asker");
      if (asker) asker.before(banner);
      var members = document.createElement("details");
      members.className = "group-members";
      var summary = document.createElement("summary");
      summary.textContent = "Its " + cards.length + " tickets";
      var items = document.createElement("ul");
      items.className = "plain";
      cards.forEach(function (card) {
        var item = document.createElement("li"), link = document.createElement("a");
        var title = card.querySelector(".ticket-title");
        link.href = card.dataset.url;
        link.textContent = title ? title.textContent : card.dataset.url;
        item.append(link);
        items.append(item);
      });
      members.append(summary, items);
      var text = head.querySelector(".question-text");
      if (text) text.after(members);
      var answer = head.querySelector(".card-foot a.primary");
      if (answer) {
        answer.textContent = "Answer all " + cards.length;
        answer.href = head.dataset.url + "#incident-heading";
        answer.setAttribute("aria-label", "Answer the " + cards.length + " tickets of the incident at once");
      }
    });
  }

  // The pending count in the tab's title, for a tab in the background.
  var baseTitle = document.title;
  function showCountInTitle() {
    var totals = document.getElementById("inbox-totals");
    var n = totals ? parseInt(totals.dataset.forFilter, 10) : NaN;
    document.title = n > 0 ? "(" + n + ") " + baseTitle : baseTitle;
  }

  // Desktop notifications, opt-in: a request for my teams (or for nobody's team in particular)
  // arriving while this tab is in the background.
  var seenCards = null;
  function notificationsOn() {
    return "Notification" in window && Notification.permission === "granted" &&
      window.localStorage.getItem("supportdesk:notify") === "on";
  }
  function notifyNewCards(cards) {
    var first = seenCards === null;
    seenCards = seenCards || {};
    var mine = (document.body.dataset.myTeams || "").split(" ").filter(Boolean);
    cards.forEach(function (card) {
      if (seenCards[card.id]) return;
      seenCards[card.id] = true;
      if (first || !document.hidden || !notificationsOn()) return;
      if (card.dataset.team && mine.indexOf(card.dataset.team) < 0) return;
      var title = card.querySelector(".ticket-title"), text = card.querySelector(".question-text, .proposed-text");
      var note = new Notification(
        (card.dataset.kind === "approval" ? "Approval needed: " : "Question: ") + (title ? title.textContent : ""),
        { body: text ? text.textContent.trim().slice(0, 200) : "", tag: card.id }
      );
      note.onclick = function () { window.focus(); window.location = card.dataset.url; };
    });
  }
  function setUpNotifyToggle() {
    var button = document.getElementById("notify-toggle");
    if (!button || !("Notification" in window) || Notification.permission === "denied") return;
    button.hidden = false;
    var show = function () { button.setAttribute("aria-pressed", String(notificationsOn())); };
    button.addEventListener("click", function () {
      if (notificationsOn()) { window.localStorage.setItem("supportdesk:notify", "off"); show(); return; }
      Notification.requestPermission().then(function (permission) {
        window.localStorage.setItem("supportdesk:notify", permission === "granted" ? "on" : "off");
        show();
      });
    });
    show();
  }

  // The compact list: a line per request, the selected one in full beside the list.
  function compact() { return document.body.classList.contains("compact"); }
  function setUpCompactToggle() {
    var button = document.getElementById("compact-toggle");
    if (!button) return;
    var apply = function (on) {
      document.body.classList.toggle("compact", on);
      button.setAttribute("aria-pressed", String(on));
      var pane = document.getElementById("preview");
      if (pane) pane.hidden = !on;
      refreshPreview();
    };
    button.addEventListener("click", function () {
      var on = !compact();
      window.localStorage.setItem("supportdesk:compact", on ? "on" : "off");
      apply(on);
    });
    apply(window.localStorage.getItem("supportdesk:compact") === "on");
  }
  var previewed = null;
  function showPreview(card) {
    var pane = document.getElementById("preview");
    if (!pane || !compact()) return;
    previewed = card ? card.id : null;
    pane.replaceChildren();
    if (!card) return;
    var copy = card.cloneNode(true);
    copy.removeAttribute("id");
    copy.removeAttribute("tabindex");
    copy.removeAttribute("hx-swap-oob");
    copy.hidden = false;
    copy.querySelectorAll("[id]").forEach(function (el) { el.removeAttribute("id"); });
    pane.append(copy);
    if (window.htmx) window.htmx.process(copy);
  }
  function refreshPreview() {
    if (!compact()) return;
    var card = previewed && document.getElementById(previewed);
    if (!card || card.hidden) card = visibleCards()[0] || null;
    showPreview(card);
  }

  // Keyboard triage.
  function visibleCards() {
    var list = document.getElementById("question-list");
    return list ? Array.prototype.filter.call(list.children, function (card) { return !card.hidden; }) : [];
  }
  function moveSelection(step) {
    var cards = visibleCards();
    if (!cards.length) return;
    var current = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("#question-list > .card") : null;
    var at = cards.indexOf(current);
    var next = cards[at < 0 ? 0 : Math.min(cards.length - 1, Math.max(0, at + step))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
    showPreview(next);
  }

  function setLive(state) {
    var el = document.getElementById("live-status");
    if (el) { el.className = "live-status " + state; el.textContent = state === "on" ? "● live" : "● reconnecting…"; }
  }

  // Filters apply as soon as they change (no inline onchange: the Content-Security-Policy forbids it).
  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });
  // Actions on a ticket are confirmed first: a form with data-confirm asks before it is sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
  // The inbox's keys: j/k move between requests, Enter opens one, ? shows them all; on the
  // selected card, a key per action: c claim, a approve (asks first), e edit, r reject.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.matches && event.target.matches("input, textarea, select, [contenteditable]")) return;
    if (document.querySelector("dialog[open]")) return;
    var help = document.getElementById("shortcuts");
    if (event.key === "?" && help) { event.preventDefault(); help.showModal(); return; }
    if (event.key === "j" || event.key === "k") {
      if (!document.getElementById("question-list")) return;
      event.preventDefault();
      moveSelection(event.key === "j" ? 1 : -1);
      return;
    }
    var card = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest(".card") : null;
    if (!card) return;
    if (event.key === "Enter" && document.activeElement === card && card.dataset.url) {
      event.preventDefault();
      window.location = card.dataset.url;
      return;
    }
    var action = card.querySelector('[data-key="' + event.key + '"]');
    if (action) { event.preventDefault(); action.click(); }
  });
  document.addEventListener("focusin", function (event) {
    var card = event.target.closest && event.target.closest("#question-list > .card");
    if (card && previewed !== card.id) showPreview(card);
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#shortcuts-open")) {
      document.getElementById("shortcuts").showModal();
    }
  });
  // The question page. A refused answer is shown at the POST's URL: put the page's own URL back,
  // so that a reload is a GET of the question and never a dead "method not allowed".
  function restoreUrl() {
    var url = document.body.dataset.canonicalUrl;
    if (url && window.location.pathname !== url && window.history.replaceState) {
      window.history.replaceState(null, "", url);
    }
  }

  // What's typed is kept in the tab's session storage until it is sent: a reload, a refresh after
  // a claim or a lost connection does not throw it away.
  function draftKey(field) {
    var form = field.form;
    return form && form.dataset.draftKey ? "draft:" + form.dataset.draftKey : null;
  }
  function restoreDrafts() {
    var state = document.getElementById("question-state");
    var settled = state && state.dataset.open === "false" && !document.querySelector("[role=alert]");
    document.querySelectorAll("form[data-draft-key] textarea").forEach(function (field) {
      var key = draftKey(field), saved = window.sessionStorage.getItem(key);
      if (settled) window.sessionStorage.removeItem(key);  // answered, expired: nothing to keep
      else if (field.value) window.sessionStorage.setItem(key, field.value);  // a refused answer
      else if (saved) field.value = saved;
    });
  }

  function characters(text) { return Array.from(text.trim()).length; }
  function updateCounter(field) {
    var counter = field.getAttribute("aria-describedby") &&
      document.getElementById(field.getAttribute("aria-describedby").split(" ")[0]);
    if (!counter || !field.dataset.limit) return;
    var limit = Number(field.dataset.limit), used = characters(field.value);
    counter.textContent = used > limit
      ? (used - limit).toLocaleString() + " characters over the limit of " + limit.toLocaleString()
      : used.toLocaleString() + " of " + limit.toLocaleString() + " characters";
    counter.classList.toggle("over", used > limit);
  }

  // Someone else answered, or it expired, while this page was open: its forms can't be sent any
  // more, but what the reviewer wrote stays, to copy.
  function followQuestionState() {
    var state = document.getElementById("question-state");
    if (!state) return;
    var open = state.dataset.open === "true";
    document.querySelectorAll(".request-form button[type=submit]").forEach(function (button) {
      button.disabled = !open;
    });
  }

  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.matches || !field.matches("textarea")) return;
    updateCounter(field);
    var key = draftKey(field);
    if (key) window.sessionStorage.setItem(key, field.value);
  });
  // Ctrl+Enter (⌘+Enter) in a text box sends its form, confirmations included.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var field = event.target;
    if (!field.matches || !field.matches("textarea") || !field.form) return;
    var button = field.form.querySelector("button[type=submit]");
    if (button && button.disabled) return;
    event.preventDefault();
    field.form.requestSubmit(button || undefined);
  });

  // A push that redraws the selected card (or the whole list, on reconnect) keeps it selected.
  var selected = null;
  document.addEventListener("focusin", function (event) {
    var card = event.target.closest && event.target.closest("#question-list > .card");
    if (card) selected = card.id;
  });
  function keepSelection() {
    if (!selected || (document.activeElement && document.activeElement !== document.body)) return;
    var card = document.getElementById(selected);
    if (card && !card.hidden) card.focus({ preventScroll: true });
  }
  document.addEventListener("htmx:wsAfterMessage", function () {
    sortCards(); tick(); followQuestionState(); keepSelection();
    document.body.dataset.synced = "true";  // the socket's first list has arrived (tests wait on it)
  });
  document.addEventListener("htmx:afterSwap", followQuestionState);
  document.addEventListener("htmx:wsOpen", function () { setLive("on"); });
  document.addEventListener("htmx:wsClose", function () { setLive("off"); });
  document.addEventListener("DOMContentLoaded", function () {
    restoreUrl();
    restoreDrafts();
    document.querySelectorAll("textarea[data-limit]").forEach(updateCounter);
    followQuestionState();
    setUpCompactToggle();
    setUpNotifyToggle();
    sortCards(); tick(); setInterval(tick, 1000);
  });
})();
