// Live updates: the server sends "change" over server-sent events when the daemon's state or the inbox
// changes; the page then re-fetches itself and replaces its main section only when it differs. One fetch
// at a time, never while the person is typing. Answering never needs this file (every button is a form).
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var busy = false, again = false;
  function typing() {
    var el = document.activeElement;
    return el && el.closest && el.closest("#main") && /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName);
  }
  function refresh() {
    if (busy || typing()) { again = true; return; }
    var main = document.getElementById("main");
    if (!main) { return; }
    busy = true; again = false;
    var url = main.getAttribute("data-refresh");
    fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}}).then(function (response) {
      return response.ok ? response.text() : null;
    }).then(function (html) {
      if (html === null) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("main"), current = document.getElementById("main");
      // The person went to another page while this was fetched: drop the stale answer.
      if (!current || current.getAttribute("data-refresh") !== url) { return; }
      var flash = current.querySelector("#flash");
      if (fresh && fresh.innerHTML !== current.innerHTML) {
        if (flash && !fresh.querySelector("#flash")) { fresh.insertBefore(flash, fresh.firstChild); }
        current.replaceWith(fresh);
        if (window.htmx) { window.htmx.process(fresh); }
      }
      var nav = doc.querySelector("header nav"), here = document.querySelector("body > header nav");
      if (nav && here && nav.innerHTML !== here.innerHTML) { here.innerHTML = nav.innerHTML; }
      document.title = doc.title;
    }).catch(function () { /* the daemon restarted: the stream reconnects by itself */ }).then(function () {
      busy = false;
      if (again) { setTimeout(refresh, 100); }
    });
  }
  document.addEventListener("focusout", function () { if (again) { setTimeout(refresh, 0); } });
  // Clocks tick between updates: elapsed time of the lane, time left before a question's safe default.
  function clock(seconds) { seconds = Math.max(0, Math.floor(seconds)); var s = seconds % 60;
    return Math.floor(seconds / 60) + "m" + (s < 10 ? "0" : "") + s + "s"; }
  setInterval(function () {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-since]").forEach(function (el) { el.textContent = clock(now - el.dataset.since); });
    document.querySelectorAll("[data-until] .clock").forEach(function (el) {
      el.textContent = clock(el.parentNode.dataset.until - now); });
  }, 1000);
  var source = new EventSource("/events");
  source.addEventListener("change", refresh);
})();
