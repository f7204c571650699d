// Live updates: the server sends "change" over server-sent events when the daemon's state or the inbox
// changes; the page then re-fetches its own main section. Answering never needs this file (plain forms).
(function () {
  "use strict";
  if (!window.EventSource) { return; }
  var pending = false;
  function typing() {
    var el = document.activeElement;
    return el && el.closest && el.closest("#main") && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }
  function refresh() {
    if (typing()) { pending = true; return; }
    pending = false;
    var main = document.getElementById("main");
    if (!main || !window.htmx) { return; }
    var url = main.getAttribute("data-refresh") || window.location.pathname + window.location.search;
    window.htmx.ajax("GET", url, {target: "#main", select: "#main", swap: "outerHTML"}).then(function () {
      var badge = document.getElementById("pending-count");
      document.title = document.title.replace(/^\(\d+\) /, "");
      if (badge) { document.title = "(" + badge.textContent + ") " + document.title; }
    });
  }
  document.addEventListener("focusout", function () { if (pending) { setTimeout(refresh, 0); } });
  var source = new EventSource("/events");
  source.addEventListener("change", refresh);
})();
