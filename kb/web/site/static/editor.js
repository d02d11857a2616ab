/* The workbench editor: preview and findings as you type (debounced), save with If-Match and the CSRF token,
   a conflict shown with both versions. Without JavaScript the same form posts to /edit/<module>/<lang> and the
   server answers with the page; with it, the form's submit is taken over here. The preview HTML is this server's own rendering of the Markdown
   (raw HTML escaped), parsed with DOMParser and moved in as nodes; findings are set as text, never as HTML. */
(function () {
  "use strict";
  var root = document.querySelector("[data-editor]");
  if (!root || !window.fetch || !window.DOMParser) {
    return;
  }
  var text = root.querySelector(".editor-text");
  var preview = root.querySelector(".editor-preview");
  var findings = root.querySelector(".editor-findings");
  var message = root.querySelector(".editor-message");
  var timer = null;
  var sequence = 0;

  function payload() {
    return {
      module: root.dataset.module,
      lang: root.dataset.lang,
      section: root.dataset.section || null,
      markdown: text.value,
      reason: root.querySelector(".editor-reason").value,
      stamp: root.querySelector(".editor-stamp").checked
    };
  }

  function post(url, headers) {
    var all = { "Content-Type": "application/json", "X-CSRF-Token": root.dataset.csrf };
    Object.keys(headers || {}).forEach(function (k) { all[k] = headers[k]; });
    return fetch(url, { method: "POST", headers: all, body: JSON.stringify(payload()), credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (data) { return { status: response.status, data: data }; });
      });
  }

  function showFindings(list) {
    findings.textContent = "";
    (list || []).forEach(function (f) {
      var li = document.createElement("li");
      li.className = "finding finding-" + f.severity;
      li.dataset.rule = f.rule;
      li.textContent = "line " + f.line + ": " + f.rule + ": " + f.message;
      findings.appendChild(li);
    });
  }

  function showPreview(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    preview.textContent = "";
    Array.prototype.slice.call(doc.body.childNodes).forEach(function (node) {
      preview.appendChild(document.adoptNode(node));
    });
  }

  function refresh() {
    var mine = ++sequence;
    post("/api/edit/preview").then(function (r) {
      if (mine !== sequence) {
        return;
      }
      if (r.status !== 200) {
        message.textContent = r.data.error ? r.data.error.message : "preview failed";
        return;
      }
      showPreview(r.data.html);
      showFindings(r.data.findings);
    }).catch(function () { message.textContent = "preview failed: is the server running?"; });
  }

  function save() {
    message.textContent = "…";
    post("/api/edit/save", { "If-Match": '"' + root.dataset.hash + '"' }).then(function (r) {
      if (r.status === 200) {
        root.dataset.hash = r.data.hash;
        root.querySelector(".editor-hash").value = r.data.hash;
        root.dataset.state = "saved";
        message.textContent = root.dataset.savedText || "Saved";
        showFindings(r.data.findings);
        return;
      }
      if (r.status === 409) {
        var box = root.querySelector(".editor-conflict");
        box.querySelector(".editor-conflict-disk").value = r.data.conflict.disk;
        box.querySelector(".editor-conflict-yours").value = r.data.conflict.yours;
        box.hidden = false;
        root.dataset.state = "conflict";
      } else if (r.data.blocking) {
        showFindings(r.data.blocking);
        root.dataset.state = "blocked";
      }
      message.textContent = r.data.error ? r.data.error.message : "not saved";
    }).catch(function () { message.textContent = "not saved: is the server running?"; });
  }

  text.addEventListener("input", function () {
    root.dataset.state = "editing";
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  root.addEventListener("submit", function (event) {  // with JavaScript the form never posts itself
    event.preventDefault();
    if (event.submitter && event.submitter.value === "preview") {
      refresh();
    } else {
      save();
    }
  });
  refresh();
}());
