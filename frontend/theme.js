// Runs before the first paint (a classic script in <head>; the CSP allows no inline script): applies a
// theme the viewer chose earlier. Without a choice, app.css follows prefers-color-scheme, dark by default.
(function () {
  try {
    var saved = window.localStorage.getItem("tracker.theme");
    if (saved === "light" || saved === "dark") document.documentElement.dataset.theme = saved;
  } catch (e) {
    // Storage can be disabled; the system preference still applies.
  }
})();
