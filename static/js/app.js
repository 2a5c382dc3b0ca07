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
    var now = Date.now();
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var left = (Date.parse(el.dataset.expires) - now) / 1000;
      el.textContent = left > 0 ? span(left) + " left" : "expired";
      el.classList.toggle("urgent", left > 0 && left < 900);
      var card = el.closest(".card");
      if (card) card.classList.toggle("is-expired", left <= 0);
    });
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
  document.addEventListener("htmx:wsAfterMessage", function () { sortCards(); tick(); });
  document.addEventListener("htmx:wsOpen", function () { setLive("on"); });
  document.addEventListener("htmx:wsClose", function () { setLive("off"); });
  document.addEventListener("DOMContentLoaded", function () { sortCards(); tick(); setInterval(tick, 1000); });
})();
