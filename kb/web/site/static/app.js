/* The little JavaScript the pages use, on top of pages that work without it:
   - search as you type on the search page (debounced calls to /api/search; the URL keeps the query),
   - the language picker of the side-by-side view (keeps the column order and the #section),
   - the "large type" toggle for projectors (a class on <html>, remembered in localStorage).
   Text from the server or the query is only ever set with textContent, never parsed as HTML. */
(function () {
  "use strict";

  var STORAGE_KEY = "kb.largeType";
  var DEBOUNCE_MS = 250;

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function $all(selector, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(selector));
  }

  function path() {
    return Array.prototype.map.call(arguments, encodeURIComponent).join("/");
  }

  /* --- UI language links keep the current page state (query, section) after the URL changed --- */
  function refreshUiLinks() {
    $all("a[data-ui]").forEach(function (a) {
      var url = new URL(window.location.href);
      url.searchParams.set("ui", a.getAttribute("data-ui"));
      a.setAttribute("href", url.pathname + url.search + url.hash);
    });
  }

  /* --- large type --- */
  function initLargeType() {
    var buttons = $all("[data-large-type]");
    if (!buttons.length) {
      return;
    }
    var root = document.documentElement;
    function sync() {
      var on = root.classList.contains("large-type");
      buttons.forEach(function (b) {
        b.setAttribute("aria-pressed", on ? "true" : "false");
      });
    }
    buttons.forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        var on = root.classList.toggle("large-type");
        try {
          window.localStorage.setItem(STORAGE_KEY, on ? "1" : "0");
        } catch (e) {
          /* no storage: the choice lasts for this page */
        }
        sync();
      });
    });
    sync();
  }

  /* --- side-by-side language picker --- */
  function initLangPicker() {
    var form = document.getElementById("lang-picker");
    if (!form) {
      return;
    }
    var chosen = (form.getAttribute("data-chosen") || "").split(",").filter(Boolean);
    var boxes = $all("input[type=checkbox][name=langs]", form);
    var LANGS_KEY = "kb.compareLangs";
    /* The languages last chosen are remembered: a side-by-side page opened without ?langs= shows them. */
    try {
      var stored = (window.localStorage.getItem(LANGS_KEY) || "").split(",").filter(Boolean);
      var offered = boxes.map(function (b) { return b.value; });
      var usable = stored.filter(function (L) { return offered.indexOf(L) >= 0; });
      if (!/[?&]langs=/.test(window.location.search) && usable.length >= 2 && usable.join(",") !== chosen.join(",")) {
        window.location.replace(form.getAttribute("action") + "?langs=" + usable.join(",") + window.location.hash);
        return;
      }
      if (/[?&]langs=/.test(window.location.search)) {
        window.localStorage.setItem(LANGS_KEY, chosen.join(","));
      }
    } catch (e) {
      /* storage disabled: nothing is remembered */
    }
    $all("[data-nojs]", form).forEach(function (el) {
      el.hidden = true;
    });
    form.addEventListener("change", function (event) {
      var box = event.target;
      var checked = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      if (checked.length < 2 || checked.length > 3) {
        box.checked = !box.checked; /* always two or three columns */
        return;
      }
      var order = chosen.filter(function (L) { return checked.indexOf(L) >= 0; })
        .concat(checked.filter(function (L) { return chosen.indexOf(L) < 0; }));
      window.location.assign(form.getAttribute("action") + "?langs=" + order.join(",") + window.location.hash);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
    });
  }

  /* --- side-by-side "go to section" menu: it closes once a section is chosen, or on Escape --- */
  function initJumpMenu() {
    $all("details.jump").forEach(function (menu) {
      menu.addEventListener("click", function (event) {
        if (event.target.closest && event.target.closest("a[href^='#']")) {
          menu.removeAttribute("open");
        }
      });
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      $all("details.jump[open]").forEach(function (menu) { menu.removeAttribute("open"); });
    }
  });

  /* --- search as you type --- */
  function initSearch() {
    var form = document.getElementById("search-form");
    var results = document.getElementById("results");
    var tplResult = document.getElementById("tpl-result");
    var tplEmpty = document.getElementById("tpl-empty");
    if (!form || !results || !tplResult || !tplEmpty || !window.fetch) {
      return;
    }
    var input = $("#q", form);
    var langSelect = $("#lang", form);
    var moduleSelect = $("#module", form);
    var gradeSelect = $("#grade", form);
    var regionSelect = $("#available_in", form);
    var recLabels = JSON.parse(results.getAttribute("data-rec-labels") || "{}");
    var baseTitle = document.title.replace(/^.* – /, "");
    var timer = null;
    var controller = null;
    var shown = currentParams().toString();

    function currentParams() {
      var p = new URLSearchParams();
      var q = input.value.replace(/\s+/g, " ").trim();
      if (q) { p.set("q", q); }
      if (langSelect.value) { p.set("lang", langSelect.value); }
      if (moduleSelect.value) { p.set("module", moduleSelect.value); }
      if (gradeSelect && gradeSelect.value) { p.set("grade", gradeSelect.value); }
      if (regionSelect && regionSelect.value) { p.set("available_in", regionSelect.value); }
      return p;
    }

    function optionText(select, value, attribute) {
      var option = $all("option", select).filter(function (o) { return o.value === value; })[0];
      if (!option) { return null; }
      return (attribute && option.getAttribute(attribute)) || option.textContent.trim();
    }

    function schedule(delay) {
      window.clearTimeout(timer);
      timer = window.setTimeout(run, delay);
    }

    function run() {
      var params = currentParams();
      var key = params.toString();
      if (key === shown) {
        return;
      }
      shown = key;
      var q = params.get("q");
      var url = q ? "/search?" + key : (window.location.pathname === "/" ? "/" : "/search" + (key ? "?" + key : ""));
      window.history.replaceState(null, "", url);
      document.title = q ? q + " – " + baseTitle : baseTitle;
      refreshUiLinks();
      $all(".browse").forEach(function (el) { el.hidden = Boolean(q); });
      compactHero(Boolean(q));
      if (controller) { controller.abort(); }
      if (!q) {
        results.replaceChildren();
        return;
      }
      controller = new AbortController();
      results.setAttribute("aria-busy", "true");
      fetch("/api/search?" + key, { signal: controller.signal, headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (answer) {
          results.removeAttribute("aria-busy");
          if (answer.ok) {
            render(answer.body, params);
          } else {
            showError();
          }
        })
        .catch(function (error) {
          if (error.name !== "AbortError") {
            results.removeAttribute("aria-busy");
            showError();
          }
        });
    }

    /* With a query the title and the introduction give way to the results, as on the page the server renders
       for /search?q= (search.html): on a phone the first results are then above the fold. */
    var hero = $(".search-hero");
    var heroWasCompact = Boolean(hero && hero.classList.contains("is-compact"));  /* a /search?q= page */
    function compactHero(searching) {
      if (!hero || heroWasCompact) { return; }
      hero.classList.toggle("is-compact", searching);
      var title = $("h1", hero);
      if (title) { title.classList.toggle("visually-hidden", searching); }
      var lede = $(".lede", hero);
      if (lede) { lede.hidden = searching; }
    }

    function showError() {
      var p = document.createElement("p");
      p.className = "notice notice-error";
      p.setAttribute("role", "alert");
      p.textContent = results.getAttribute("data-error");
      results.replaceChildren(p);
    }

    function render(body, params) {
      var items = body.results || [];
      if (!items.length) {
        results.replaceChildren(emptyState(params));
        return;
      }
      var count = document.createElement("p");
      count.className = "result-count";
      /* Weak results are the closest sections, not matches: the count says so (_results.html). */
      var countKey = "data-count-" + (body.weak ? "weak-" : "") + (items.length === 1 ? "one" : "many");
      count.textContent = results.getAttribute(countKey)
        .replace("{n}", String(items.length));
      var list = document.createElement("ol");
      list.className = "result-list";
      items.forEach(function (r) { list.appendChild(resultItem(r)); });
      var head = body.weak ? [weakNotice()] : [];
      if (body.restored) {
        /* How a query typed without diacritics was read, as the server renders it (_results.html). */
        var restored = document.createElement("p");
        restored.className = "result-restored";
        restored.textContent = results.getAttribute("data-restored").replace("{q}", body.restored) + " ";
        var typed = document.createElement("a");
        typed.className = "result-restored-link";
        typed.lang = "vi";
        var asTyped = new URLSearchParams(params);
        asTyped.set("as_typed", "1");
        typed.href = "/search?" + asTyped.toString();
        typed.textContent = results.getAttribute("data-as-typed").replace("{q}", params.get("q") || "");
        restored.appendChild(typed);
        head.push(restored);
      }
      results.replaceChildren.apply(results, head.concat([count, list]));
    }

    /* The "no good match" note, as the server renders it (_weak.html): the closest sections follow it. */
    function weakNotice() {
      var box = document.createElement("div");
      box.className = "notice notice-warning notice-weak";
      box.setAttribute("role", "status");
      var p = document.createElement("p");
      p.textContent = results.getAttribute("data-weak");
      box.appendChild(p);
      var hint = document.createElement("p");
      hint.className = "notice-hint";
      hint.textContent = results.getAttribute("data-weak-hint");
      box.appendChild(hint);
      return box;
    }

    function slot(root, name) {
      return $("[data-slot=" + name + "]", root);
    }

    function resultItem(r) {
      var li = tplResult.content.firstElementChild.cloneNode(true);
      var readUrl = "/" + path("modules", r.module, r.lang) + "#" + encodeURIComponent(r.section);
      li.setAttribute("data-module", r.module);
      li.setAttribute("data-section", r.section);
      li.setAttribute("data-lang", r.lang);

      var moduleLink = slot(li, "module");
      moduleLink.href = "/" + path("modules", r.module, r.lang);
      moduleLink.textContent = optionText(moduleSelect, r.module, "data-title") || r.title;

      var heading = slot(li, "heading");
      heading.href = readUrl;
      fillHighlighted(heading, r.heading || "", r.heading_highlights || []);
      heading.parentNode.setAttribute("lang", r.lang);

      var snippet = slot(li, "snippet");
      snippet.setAttribute("lang", r.lang);
      fillHighlighted(snippet, r.snippet || "", r.highlights || []);

      var badges = slot(li, "badges");
      (r.languages || []).forEach(function (code) {
        var item = document.createElement("li");
        var a = document.createElement("a");
        a.className = "badge" + (code === r.lang ? " is-current" : "");
        a.href = "/" + path("modules", r.module, code) + "#" + encodeURIComponent(r.section);
        a.setAttribute("lang", code);
        a.title = optionText(langSelect, code) || code;
        a.textContent = code.toUpperCase();
        item.appendChild(a);
        badges.appendChild(item);
      });

      var recs = slot(li, "recs");
      (r.recommendations || []).forEach(function (rec) { recs.appendChild(recBadges(rec)); });
      if (!recs.firstChild) { recs.remove(); }

      slot(li, "read").href = readUrl;
      var compare = slot(li, "compare");
      var langs = [r.lang].concat((r.languages || []).filter(function (L) { return L !== r.lang; })).slice(0, 3);
      if (langs.length >= 2) {
        compare.href = "/" + path("compare", r.module) + "?langs=" + langs.join(",") + "#" +
          encodeURIComponent(r.section);
      } else {
        compare.remove();
      }
      $all("[data-slot]", li).forEach(function (el) { el.removeAttribute("data-slot"); });
      return li;
    }

    /* One recommendation's badges, as the server renders them (kb/web/badges.py), built with textContent. */
    function recBadges(rec) {
      var box = document.createElement("span");
      box.className = "rec";
      var grade = (rec.grade || "").split(":");
      if (grade.length === 2) {
        box.appendChild(badge("rec-badge rec-grade",
          (recLabels["scheme:" + grade[0]] || grade[0].toUpperCase()) + " " + (recLabels[grade[1]] || grade[1]),
          recLabels["hint:scheme:" + grade[0]]));
      }
      ["cn", "vn"].forEach(function (region) {
        var status = rec[region];
        if (status) {
          box.appendChild(badge("rec-badge rec-avail rec-" + status,
            (recLabels[region] || region.toUpperCase()) + ": " + (recLabels[status] || status),
            recLabels["hint:" + status + ":" + region]));
        }
      });
      return box;
    }

    function badge(className, text, hint) {
      var span = document.createElement("span");
      span.className = className;
      span.textContent = text;
      if (hint) { span.title = hint; }
      return span;
    }

    /* The snippet as text nodes, with each [start, end) span of a matched term in a <mark>. */
    function fillHighlighted(element, text, spans) {
      var pos = 0;
      spans.slice().sort(function (a, b) { return a[0] - b[0]; }).forEach(function (span) {
        var start = span[0];
        var end = span[1];
        if (start < pos || end <= start || end > text.length) {
          return;
        }
        element.appendChild(document.createTextNode(text.slice(pos, start)));
        var mark = document.createElement("mark");
        mark.textContent = text.slice(start, end);
        element.appendChild(mark);
        pos = end;
      });
      element.appendChild(document.createTextNode(text.slice(pos)));
    }

    function emptyState(params) {
      var box = tplEmpty.content.firstElementChild.cloneNode(true);
      var filtered = params.has("lang") || params.has("module") || params.has("grade") ||
        params.has("available_in");
      $all("[data-hint]", box).forEach(function (el) {
        el.hidden = (el.getAttribute("data-hint") === "filters") !== filtered;
      });
      var clear = $("[data-clear-filters]", box);
      if (clear) {
        clear.href = "/search?" + new URLSearchParams({ q: params.get("q") || "" }).toString();
        clear.addEventListener("click", function (event) {
          event.preventDefault();
          langSelect.value = "";
          moduleSelect.value = "";
          if (gradeSelect) { gradeSelect.value = ""; }
          if (regionSelect) { regionSelect.value = ""; }
          schedule(0);
        });
      }
      return box;
    }

    input.addEventListener("input", function () { schedule(DEBOUNCE_MS); });
    langSelect.addEventListener("change", function () { schedule(0); });
    moduleSelect.addEventListener("change", function () { schedule(0); });
    [gradeSelect, regionSelect].forEach(function (select) {
      if (select) { select.addEventListener("change", function () { schedule(0); }); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      schedule(0);
    });
  }

  function init() {
    initLargeType();
    initLangPicker();
    initJumpMenu();
    initSearch();
  }

  /* live.js swapped in a new <main> after a rebuild: its controls are new elements */
  document.addEventListener("kb:refreshed", function () {
    initLargeType();
    initLangPicker();
    initJumpMenu();
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
