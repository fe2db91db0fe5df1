// Before the first paint (a classic script: the CSP allows no inline one): data-theme, which app.css
// reads, is the viewer's saved choice, else the system's preference, followed until one is made
// (controls.js's toggle sets data-theme-chosen).
(function () {
  var root = document.documentElement;
  var system = window.matchMedia("(prefers-color-scheme: light)");
  var saved = null;
  try {
    saved = window.localStorage.getItem("tracker.theme");
  } catch (e) {
    // Storage can be disabled; the system preference still applies.
  }
  var follow = function () {
    if (!root.dataset.themeChosen) root.dataset.theme = system.matches ? "light" : "dark";
  };
  if (saved === "light" || saved === "dark") {
    root.dataset.theme = saved;
    root.dataset.themeChosen = "1";
  }
  follow();
  system.addEventListener("change", follow);
})();
