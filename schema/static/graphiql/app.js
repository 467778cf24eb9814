/*
 * Boots the self-hosted GraphiQL page rendered by schema/templates/graphene/graphiql.html.
 *
 * Globals come from the vendored UMD bundles in ./vendor (see tools/graphiql/update.sh):
 *   React, ReactDOM (18), GraphiQL (3.x), GraphiQLPluginExplorer, graphqlWs.
 *
 * - Queries and mutations: HTTP POST (JSON) to this page's own path, with the
 *   headers from the header editor (and Django's CSRF token, if there is one).
 * - Subscriptions: graphql-ws client (graphql-transport-ws protocol) on
 *   ws(s)://<this host><subscription path or this page's path>. The
 *   Authorization header from the header editor is sent in the connection_init
 *   payload as {"authorization": "Bearer <token>"}; when it changes, the next
 *   subscription opens a new websocket carrying the new value.
 *
 * No inline script: configuration is read from data- attributes and the example
 * documents from <script type="application/graphql"> blocks in the template.
 */
(function () {
  "use strict";

  var root = document.getElementById("graphiql");
  var dataset = root.dataset;

  function flag(value, fallback) {
    if (value === "true") return true;
    if (value === "false") return false;
    return fallback;
  }

  var config = {
    subscriptionPath: dataset.subscriptionPath || "",
    headerEditorEnabled: flag(dataset.headerEditorEnabled, true),
    shouldPersistHeaders: flag(dataset.shouldPersistHeaders, true),
  };

  // URLs are derived from where the page is served, so the same page works
  // behind any host, port, scheme or proxy prefix.
  var httpUrl = window.location.pathname;
  var wsUrl =
    (window.location.protocol === "https:" ? "wss:" : "ws:") +
    "//" +
    window.location.host +
    (config.subscriptionPath || window.location.pathname);

  function exampleText(id) {
    var el = document.getElementById(id);
    return el ? el.textContent.replace(/^\s*\n/, "").replace(/\s*$/, "\n") : "";
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Header names are case-insensitive; the editor holds whatever the user typed.
  function headerValue(headers, name) {
    if (!headers || typeof headers !== "object") return "";
    var wanted = name.toLowerCase();
    for (var key in headers) {
      if (Object.prototype.hasOwnProperty.call(headers, key) && key.toLowerCase() === wanted) {
        var value = headers[key];
        return value == null ? "" : String(value).trim();
      }
    }
    return "";
  }

  // One lazy graphql-ws client per Authorization value. connectionParams is
  // evaluated on every (re)connect and returns the value the client was made
  // for; a different value in the header editor disposes this client and makes
  // a new one, so a websocket never carries a stale token.
  var ws = { client: null, authorization: null };

  function wsClientFor(authorization) {
    if (ws.client && ws.authorization === authorization) return ws.client;
    if (ws.client) ws.client.dispose();
    ws.authorization = authorization;
    ws.client = graphqlWs.createClient({
      url: wsUrl,
      lazy: true,
      retryAttempts: 3,
      connectionParams: function () {
        return authorization ? { authorization: authorization } : {};
      },
    });
    return ws.client;
  }

  var baseHeaders = {};
  var csrf = csrfToken();
  if (csrf) baseHeaders["X-CSRFToken"] = csrf;

  // GraphiQL calls the fetcher with the parsed header-editor headers in
  // opts.headers (for introspection too); HTTP requests get them merged over
  // baseHeaders by GraphiQL's own fetcher.
  function fetcher(graphQLParams, opts) {
    var authorization = headerValue(opts && opts.headers, "authorization");
    var inner = GraphiQL.createFetcher({
      url: httpUrl,
      headers: baseHeaders,
      wsClient: wsClientFor(authorization),
    });
    return inner(graphQLParams, opts);
  }

  var explorer = GraphiQLPluginExplorer.explorerPlugin({ showAttribution: false });

  var props = {
    fetcher: fetcher,
    plugins: [explorer],
    isHeadersEditorEnabled: config.headerEditorEnabled,
    shouldPersistHeaders: config.shouldPersistHeaders,
    defaultEditorToolsVisibility: config.headerEditorEnabled ? "headers" : true,
    defaultTabs: [
      { query: exampleText("graphiql-example-welcome") },
      { query: exampleText("graphiql-example-subscription") },
    ],
  };

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
