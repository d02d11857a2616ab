/* Trainer mode: one script for the three pages that show a deck (body[data-role]):
   - projector: the slides full screen; keys, swipe, #fragment; with a session it follows the presenter, and it
     drives the session too when this browser holds the presenter's cookie (data-drives);
   - presenter: current and next slide, notes, timers, slide list; drives the session;
   - follow: a phone showing the presenter's slide in its own language, glossary terms tappable.
   Positions travel as POST /api/present/<session>/position -> the broker -> /api/events?channel=present:<id>.
   EventSource reconnects by itself (a phone waking up, a restarting server); on reconnect the stream's hello
   carries the channel's last position, so a phone that slept lands on the current slide. A new build of this
   module reloads the page at the same slide. Without JavaScript every slide is shown one after another. */
(function () {
  "use strict";
  var body = document.body;
  var role = body.getAttribute("data-role");
  var session = body.getAttribute("data-session");
  var modules = (body.getAttribute("data-modules") || "").split(" ").filter(Boolean);
  var build = body.getAttribute("data-build");
  var drives = body.hasAttribute("data-drives");
  var main = document.getElementById("main");
  if (!main || !role) {
    return;
  }
  document.documentElement.classList.remove("no-js");
  document.documentElement.classList.add("js");
  var slides = Array.prototype.slice.call(main.querySelectorAll(":scope > .slide"));
  var keys = slides.map(function (s) { return s.getAttribute("data-key"); });
  var nextDeck = document.querySelector(".deck-next");
  var nextSlides = nextDeck ? Array.prototype.slice.call(nextDeck.querySelectorAll(":scope > .slide")) : [];
  var current = -1;
  var blank = false;
  var started = Date.now();
  var slideStarted = Date.now();

  var MIN_FIT = 32 / 38;
  function fit(slide) {
    /* Shrink the primary column's type until the slide fits, never below the second language's 32 px (at
       1920x1080); the second column is already at that floor. */
    if (role === "follow") {
      return;
    }
    var scale = 1;
    slide.style.setProperty("--fit", "1");
    while (slide.scrollHeight > slide.clientHeight + 1 && scale > MIN_FIT + 0.001) {
      scale = Math.max(MIN_FIT, scale - 0.03);
      slide.style.setProperty("--fit", String(scale));
    }
  }

  function show(i, publish) {
    if (i < 0 || i >= slides.length) {
      return;
    }
    var changed = i !== current;
    slides.forEach(function (s, n) { s.classList.toggle("current", n === i); });
    nextSlides.forEach(function (s, n) { s.classList.toggle("current", n === i + 1); });
    current = i;
    fit(slides[i]);
    body.setAttribute("data-current", keys[i]);
    if (role !== "follow" && window.history.replaceState) {
      window.history.replaceState(null, "", "#" + keys[i]);
    }
    var counter = document.querySelector(".deck-counter, [data-counter]");
    if (counter) {
      counter.textContent = (i + 1) + " / " + slides.length;
    }
    document.querySelectorAll("[data-notes-for]").forEach(function (n) {
      n.hidden = n.getAttribute("data-notes-for") !== keys[i];
    });
    document.querySelectorAll("[data-list-key]").forEach(function (a) {
      if (a.getAttribute("data-list-key") === keys[i]) {
        a.setAttribute("aria-current", "true");
      } else {
        a.removeAttribute("aria-current");
      }
    });
    if (changed) {
      slideStarted = Date.now();
    }
    if (publish) {
      send();
    }
  }

  function setBlank(on, publish) {
    blank = on;
    var screen = document.querySelector(".blank-screen");
    if (screen) {
      screen.hidden = !on;
    }
    body.classList.toggle("is-blank", on);
    if (publish) {
      send();
    }
  }

  /* One move in flight at a time, the latest position sent when it is answered: quick key presses never reach
     the server out of order, and a driving page ignores the echoes of its own moves (by the store's change
     number, `seq`) instead of jumping back to a slide it already left. */
  var sending = false;
  var dirty = false;
  var ownSeq = 0;
  function send() {
    if (!session || !drives || !window.fetch) {
      return;
    }
    if (sending) {
      dirty = true;
      return;
    }
    sending = true;
    dirty = false;
    fetch("/api/present/" + session + "/position", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ slide: keys[current], blank: blank })
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
      if (d && d.seq) {
        ownSeq = Math.max(ownSeq, d.seq);
      }
    }).catch(function () { /* the server is away: the next move sends the position again */ }).then(function () {
      sending = false;
      if (dirty) {
        send();
      }
    });
  }

  function go(i) {
    show(Math.max(0, Math.min(slides.length - 1, i)), true);
  }

  function fromHash() {
    var key = decodeURIComponent(window.location.hash.slice(1));
    var i = keys.indexOf(key);
    return i >= 0 ? i : 0;
  }

  /* --- keyboard and touch (projector and presenter) --- */
  var typed = null;
  if (role !== "follow") {
    document.addEventListener("keydown", function (e) {
      if (e.altKey || e.ctrlKey || e.metaKey || /INPUT|TEXTAREA|SELECT/.test(e.target.tagName)) {
        return;
      }
      var k = e.key;
      if (typed !== null) {
        if (/^[0-9]$/.test(k)) {
          typed += k;
          e.preventDefault();
          return;
        }
        if (k === "Enter" && typed) {
          go(parseInt(typed, 10) - 1);
        }
        typed = null;
        e.preventDefault();
        return;
      }
      if (k === "ArrowRight" || k === "ArrowDown" || k === " " || k === "PageDown") {
        go(current + 1);
      } else if (k === "ArrowLeft" || k === "ArrowUp" || k === "PageUp") {
        go(current - 1);
      } else if (k === "Home") {
        go(0);
      } else if (k === "End") {
        go(slides.length - 1);
      } else if (k === "b" || k === "B" || k === ".") {
        setBlank(!blank, true);
      } else if (k === "f" || k === "F") {
        if (document.fullscreenElement) {
          document.exitFullscreen();
        } else if (document.documentElement.requestFullscreen) {
          document.documentElement.requestFullscreen().catch(function () {});
        }
      } else if (k === "g" || k === "G") {
        typed = "";
      } else {
        return;
      }
      e.preventDefault();
    });
    var x0 = null;
    main.addEventListener("touchstart", function (e) { x0 = e.touches[0].clientX; }, { passive: true });
    main.addEventListener("touchend", function (e) {
      if (x0 === null) {
        return;
      }
      var dx = e.changedTouches[0].clientX - x0;
      x0 = null;
      if (Math.abs(dx) > 50) {
        go(current + (dx < 0 ? 1 : -1));
      }
    });
    document.querySelectorAll("[data-go]").forEach(function (b) {
      b.addEventListener("click", function () {
        var what = b.getAttribute("data-go");
        if (what === "next") { go(current + 1); }
        if (what === "prev") { go(current - 1); }
        if (what === "blank") { setBlank(!blank, true); }
      });
    });
    document.querySelectorAll("[data-list-key]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        go(keys.indexOf(a.getAttribute("data-list-key")));
      });
    });
    window.addEventListener("hashchange", function () { show(fromHash(), true); });
    window.addEventListener("resize", function () { if (current >= 0) { fit(slides[current]); } });
  }

  /* --- timers (presenter) --- */
  function clock(ms) {
    var s = Math.floor(ms / 1000);
    var m = Math.floor(s / 60);
    return m + ":" + String(s % 60).padStart(2, "0");
  }
  var elapsed = document.querySelector('[data-timer="elapsed"]');
  var perSlide = document.querySelector('[data-timer="slide"]');
  if (elapsed || perSlide) {
    window.setInterval(function () {
      if (elapsed) { elapsed.textContent = clock(Date.now() - started); }
      if (perSlide) { perSlide.textContent = clock(Date.now() - slideStarted); }
    }, 1000);
  }

  /* --- following a session --- */
  function follow() {
    if (!session || !window.EventSource) {
      return;
    }
    var channel = "present:" + session;
    var RETRY_MS = 3000;
    var state = document.querySelector("[data-state]");
    var source = null;
    function apply(data) {
      if (!data || !data.slide) {
        return;
      }
      var i = keys.indexOf(data.slide);
      if (i >= 0) {
        show(i, false);
        setBlank(!!data.blank, false);
        if (state) { state.hidden = true; }
        body.setAttribute("data-following", data.slide);
      }
    }
    function reloadAtCurrent() {
      /* the fragment names the slide (kept by replaceState); a follower starts again from the last position */
      window.location.reload();
    }
    function connect() {
      source = new window.EventSource("/api/events?channel=" + encodeURIComponent(channel) + "&channel=builds");
      source.addEventListener("hello", function (e) {
        var data = JSON.parse(e.data);
        if (data.build && build && data.build !== build) {
          reloadAtCurrent();
          return;
        }
        apply((data.last || {})[channel]);
        body.setAttribute("data-connected", "true");
      });
      source.addEventListener("slide", function (e) {
        var data = JSON.parse(e.data);
        if (drives && role !== "follow" && (sending || (data.seq && data.seq <= ownSeq))) {
          return; /* our own move coming back (another driving window's moves have a later seq) */
        }
        if (!drives || role === "follow" || data.slide !== keys[current] || !!data.blank !== blank) {
          apply(data);
        }
      });
      source.addEventListener("build", function (e) {
        var data = JSON.parse(e.data);
        if ((data.modules || []).some(function (m) { return modules.indexOf(m) >= 0; })) {
          reloadAtCurrent();
        } else if (data.build) {
          build = data.build;
        }
      });
      source.onerror = function () {
        body.setAttribute("data-connected", "false");
        /* EventSource retries a dropped connection by itself, but gives up on an answer that is not a stream (a
           server starting up, a captive portal): then try again a little later. */
        if (source.readyState === 2) {
          window.setTimeout(function () { if (source.readyState === 2) { connect(); } }, RETRY_MS);
        }
      };
    }
    connect();
    /* A phone that slept may hand back a closed stream: open a new one when the page is seen again. */
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && source && source.readyState === 2) {
        connect();
      }
    });
  }

  /* --- glossary terms (follow) --- */
  function terms() {
    var el = document.getElementById("glossary-terms");
    var pop = document.querySelector(".term-pop");
    if (!el || !pop) {
      return;
    }
    var list = JSON.parse(el.textContent || "[]");
    var byForm = {};
    var forms = [];
    list.forEach(function (t) {
      t.match.forEach(function (f) {
        if (f.length > 1 && !byForm[f.toLowerCase()]) {
          byForm[f.toLowerCase()] = t;
          forms.push(f);
        }
      });
    });
    if (!forms.length) {
      return;
    }
    forms.sort(function (a, b) { return b.length - a.length; });
    /* Latin-script forms match whole words only ("gan" is not inside "gant"); CJK forms match anywhere. */
    var esc = forms.map(function (f) {
      var e = f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      return /[\u2e80-\u9fff]/.test(f) ? e : "(?<![\\p{L}\\p{N}])" + e + "(?![\\p{L}\\p{N}])";
    });
    var re = new RegExp("(" + esc.join("|") + ")", "giu");
    main.querySelectorAll(".slide-body, .slide-heading").forEach(function (root) {
      var walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      var nodes = [];
      while (walker.nextNode()) { nodes.push(walker.currentNode); }
      nodes.forEach(function (node) {
        var text = node.nodeValue;
        re.lastIndex = 0;
        if (!re.test(text)) { return; }
        var frag = document.createDocumentFragment();
        var last = 0;
        text.replace(re, function (m, _g, at) {
          frag.appendChild(document.createTextNode(text.slice(last, at)));
          var b = document.createElement("button");
          b.type = "button";
          b.className = "term";
          b.textContent = m;
          b.setAttribute("data-term", byForm[m.toLowerCase()].id);
          frag.appendChild(b);
          last = at + m.length;
          return m;
        });
        frag.appendChild(document.createTextNode(text.slice(last)));
        node.parentNode.replaceChild(frag, node);
      });
    });
    var byId = {};
    list.forEach(function (t) { byId[t.id] = t; });
    main.addEventListener("click", function (e) {
      var b = e.target.closest ? e.target.closest("button.term") : null;
      if (!b) {
        pop.hidden = true;
        return;
      }
      var t = byId[b.getAttribute("data-term")];
      pop.textContent = "";
      Object.keys(t.forms).forEach(function (lang) {
        var row = document.createElement("p");
        var name = document.createElement("b");
        name.textContent = t.names[lang] + ": ";
        var val = document.createElement("span");
        val.lang = lang;
        val.textContent = t.forms[lang].join(" · ");
        row.appendChild(name);
        row.appendChild(val);
        pop.appendChild(row);
      });
      pop.hidden = false;
    });
    pop.addEventListener("click", function () { pop.hidden = true; });
  }

  show(role === "follow" ? 0 : fromHash(), false);
  if (role === "follow") {
    terms();
  }
  follow();
  if (session && drives && role === "presenter") {
    send();
  }
}());
