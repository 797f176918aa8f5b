// The header menu (templates/base.html): a <details> that the server sends open, so the
// links show without JavaScript. On a narrow screen this closes it behind its "Menu"
// button; widening the window opens it again (its button is hidden there).
(function () {
  "use strict";
  var menu = document.querySelector("details.site-menu");
  if (!menu || !window.matchMedia) {
    return;
  }
  var narrow = window.matchMedia("(max-width: 37.5rem)");
  function fit() {
    menu.open = !narrow.matches;
  }
  fit();
  if (narrow.addEventListener) {
    narrow.addEventListener("change", fit);
  }
})();
