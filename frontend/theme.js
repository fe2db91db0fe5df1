// Runs before the first paint (a classic script in <head>; the CSP allows no inline script): sets
// data-theme, which app.css reads, to the viewer's earlier choice or, without one, to the system's
// preference, following it while no choice is made (app.js's toggle sets data-theme-chosen).
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
