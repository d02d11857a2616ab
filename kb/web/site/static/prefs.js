/* Loaded in <head>, before the page paints: marks that scripts run and applies the stored "large type"
   preference, so a projector page never renders small first and then jumps. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");
  try {
    if (window.localStorage.getItem("kb.largeType") === "1") {
      root.classList.add("large-type");
    }
  } catch (e) {
    /* storage can be disabled; the toggle then lasts for this page only */
  }
})();
