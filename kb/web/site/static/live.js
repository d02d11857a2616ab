/* Live pages: a page about one module (reading view, side by side, a workbench section list) listens to the
   server's build events and, when a new build changes its module, fetches itself again and swaps in the new
   <main>; a page about every module (the translation dashboard, data-live-module="*") does so when a build
   changes any module, keeping the section the
   reader was looking at in the same place on screen. The replacement is this same server's own rendered page
   (escaped by its templates), parsed with DOMParser, never strings put together here. Without JavaScript or
   EventSource nothing happens, and the page stays as it was served. */
(function () {
  "use strict";
  var body = document.body;
  var module = body.getAttribute("data-live-module");
  var shown = body.getAttribute("data-build");
  if (!module || !shown || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var busy = false;
  var again = false;

  /* The section heading nearest the top of the viewport, and where it is now. */
  function anchor() {
    var best = null;
    document.querySelectorAll("main [id]").forEach(function (el) {
      var top = el.getBoundingClientRect().top;
      if (top <= 120 && (!best || top > best.top)) {
        best = { id: el.id, top: top };
      }
    });
    return best;
  }

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    var keep = anchor();
    fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new window.DOMParser().parseFromString(html, "text/html");
        var main = fresh.getElementById("main");
        if (!main) {
          return;
        }
        document.getElementById("main").replaceWith(document.adoptNode(main));
        shown = fresh.body.getAttribute("data-build") || shown;
        body.setAttribute("data-build", shown);
        if (keep) {
          var el = document.getElementById(keep.id);
          if (el) {
            window.scrollBy(0, el.getBoundingClientRect().top - keep.top);
          }
        }
        document.dispatchEvent(new CustomEvent("kb:refreshed", { detail: { build: shown } }));
      })
      .catch(function () {
        /* the server is restarting or gone: the page keeps what it shows; the next event tries again */
      })
      .then(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  var source = new window.EventSource("/api/events?channel=builds");
  /* On (re)connect the server names its live build: a page rendered from an older one missed an event. */
  source.addEventListener("hello", function (event) {
    var data = JSON.parse(event.data);
    if (data.build && data.build !== shown) {
      refresh();
    }
  });
  source.addEventListener("build", function (event) {
    var data = JSON.parse(event.data);
    var changed = data.modules || [];
    if (module === "*" ? changed.length > 0 : changed.indexOf(module) >= 0) {
      refresh();
    } else if (data.build) {
      shown = data.build;
      body.setAttribute("data-build", shown);
    }
  });
})();
