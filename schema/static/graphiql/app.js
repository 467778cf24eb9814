/*
 * Boots the self-hosted GraphiQL page rendered by schema/templates/graphene/graphiql.html.
 *
 * Globals come from the vendored UMD bundles in ./vendor (see tools/graphiql/update.sh):
 *   React, ReactDOM (18), GraphiQL (3.x), GraphiQLPluginExplorer, graphqlWs;
 * and from ./login.js: graphiqlAuth (the login panel plugin and its token store).
 *
 * - Queries and mutations: HTTP POST (JSON) to this page's own path, with the
 *   headers from the header editor (and Django's CSRF token, if there is one),
 *   through graphiqlAuth.fetch: when logged in through the login panel, its
 *   access token is the Authorization header (refreshed before it expires, and
 *   after a 401); the schema (introspection) fetch never carries one.
 * - Subscriptions: graphql-ws client (graphql-transport-ws protocol) on
 *   ws(s)://<this host><subscription path or this page's path>. The panel's
 *   access token (or else the Authorization header from the header editor) is
 *   sent in the connection_init payload as {"authorization": "Bearer <token>"};
 *   when the header, or who is logged in, changes, the next subscription opens
 *   a new websocket. A refreshed token is used on the next (re)connect.
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

  // One lazy graphql-ws client per identity: the user logged in through the
  // login panel, or else the Authorization value in the header editor.
  // connectionParams is evaluated on every (re)connect: the panel's current
  // access token (refreshed first if it is about to expire), or the header
  // value the client was made for. Another identity disposes this client and
  // makes a new one, so a websocket never carries a stale token; a token
  // refresh alone does not (running subscriptions keep their socket).
  var ws = { client: null, key: null };
  var auth = window.graphiqlAuth;

  function wsClientFor(authorization) {
    var user = auth.username();
    var key = user ? "login:" + user : "header:" + authorization;
    if (ws.client && ws.key === key) return ws.client;
    if (ws.client) ws.client.dispose();
    ws.key = key;
    ws.client = graphqlWs.createClient({
      url: wsUrl,
      lazy: true,
      retryAttempts: 3,
      connectionParams: function () {
        if (!user) return authorization ? { authorization: authorization } : {};
        return auth.freshToken().then(function (token) {
          return token ? { authorization: "Bearer " + token } : {};
        });
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
      fetch: auth.fetch,
    });
    return inner(graphQLParams, opts);
  }

  var explorer = GraphiQLPluginExplorer.explorerPlugin({ showAttribution: false });

  var props = {
    fetcher: fetcher,
    plugins: [auth.plugin, explorer],
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
