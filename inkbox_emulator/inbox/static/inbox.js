// The inbox's live updates: poll /inbox/live and, when the emulator's state changed,
// fetch this page again and swap its <main id="live"> in place (no reload, forms kept).
"use strict";
(function () {
  var PERIOD_MS = 1000;
  var stamp = null;
  var busy = false;
  var indicator = document.getElementById("live-indicator");

  function openDetails(root) {
    var open = [];
    root.querySelectorAll("details").forEach(function (d, i) { if (d.open) { open.push(i); } });
    return open;
  }

  function refresh() {
    return fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        var current = document.getElementById("live");
        if (!fresh || !current) { return; }
        var open = openDetails(current);
        current.replaceChildren.apply(current, Array.from(fresh.childNodes));
        var all = current.querySelectorAll("details");
        open.forEach(function (i) { if (all[i]) { all[i].open = true; } });
        var root = document.documentElement;
        root.dataset.liveRefreshes = String(Number(root.dataset.liveRefreshes || "0") + 1);
        document.dispatchEvent(new CustomEvent("inbox:refreshed"));
      });
  }

  function poll() {
    if (busy) { return; }
    busy = true;
    fetch("/inbox/live", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var changed = stamp !== null && data.stamp !== stamp;
        stamp = data.stamp;
        document.documentElement.dataset.liveStamp = stamp;
        if (indicator) { indicator.classList.remove("offline"); }
        return changed ? refresh() : null;
      })
      .catch(function () { if (indicator) { indicator.classList.add("offline"); } })
      .then(function () { busy = false; });
  }

  poll();
  window.setInterval(poll, PERIOD_MS);
})();
