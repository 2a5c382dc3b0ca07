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
    var count = document.getElementById("pending-count");
    if (count) count.textContent = cards.length;
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
  // On a focused card, a key per action: a approve (asks first), e edit, r reject.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.matches && event.target.matches("input, textarea, select")) return;
    var card = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest(".card") : null;
    if (!card) return;
    var action = card.querySelector('[data-key="' + event.key + '"]');
    if (action) { event.preventDefault(); action.click(); }
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

  document.addEventListener("htmx:wsAfterMessage", function () { sortCards(); tick(); followQuestionState(); });
  document.addEventListener("htmx:afterSwap", followQuestionState);
  document.addEventListener("htmx:wsOpen", function () { setLive("on"); });
  document.addEventListener("htmx:wsClose", function () { setLive("off"); });
  document.addEventListener("DOMContentLoaded", function () {
    restoreUrl();
    restoreDrafts();
    document.querySelectorAll("textarea[data-limit]").forEach(updateCounter);
    followQuestionState();
    sortCards(); tick(); setInterval(tick, 1000);
  });
})();

// --- Issue 14, scale: exact counts in a paged inbox (appended block; the code above is untouched).
// The inbox holds a page or a few of its requests: the Pending tab shows the server's exact count
// for the filter (#inbox-totals, refreshed over the WebSocket after changes), not the cards loaded.
(function () {
  "use strict";
  function exactCount() {
    var totals = document.getElementById("inbox-totals");
    var count = document.getElementById("pending-count");
    if (totals && count && totals.dataset.forFilter) count.textContent = totals.dataset.forFilter;
  }
  document.addEventListener("htmx:wsAfterMessage", exactCount);
  document.addEventListener("DOMContentLoaded", exactCount);
})();
