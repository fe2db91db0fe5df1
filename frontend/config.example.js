// The dashboard's runtime configuration. The real config.js is generated, never committed:
// `python -m deploy publish-dashboard` writes it next to index.html when it publishes the site, and
// `python -m devstack.dashboard --api-url URL` serves one for local use. Copy this file to
// frontend/config.js only to open the page from another static server.
//
//   apiUrl  base URL of the tracker's API, without the /api routes (e.g. the Chalice REST API URL
//           "https://abc123.execute-api.eu-west-1.amazonaws.com/api/", or "http://127.0.0.1:8000"
//           for `chalice local`). Empty: the API is on the page's own origin.
//   stage   shown as a badge next to the title unless it is "prod".
window.TRACKER_CONFIG = Object.freeze({ apiUrl: "http://127.0.0.1:8000", stage: "local" });
