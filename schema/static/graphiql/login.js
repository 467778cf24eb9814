/*
 * The login panel of the self-hosted GraphiQL page: a GraphiQL plugin (sidebar, key icon) and the
 * token store behind it. Loaded before app.js, which wires it in; no build step, no inline script.
 *
 * - "Log in" runs tokenAuth and keeps the access and refresh tokens in localStorage (this origin only;
 *   "Log out" revokes the refresh token and forgets both).
 * - While logged in, every HTTP request carries "Authorization: Bearer <access token>" (replacing one
 *   typed in the Headers pane) and subscription websockets send it in connection_init.
 * - The access token is refreshed (refreshToken; refresh tokens are single-use, so the new one is kept)
 *   shortly before it expires: on a timer while the page is visible, and before any request that would
 *   otherwise carry an expiring token.
 * - A 401 to a request that carried the panel's token is recovered from: refresh and send again once;
 *   if the refresh is refused (refresh token expired or revoked), the tokens are cleared, the request
 *   is sent again without them, and the panel asks to log in again.
 * - The schema (introspection) fetch never carries an Authorization header, so the Docs and the
 *   Explorer load whatever the Headers pane holds.
 * - The panel's own requests (tokenAuth, refreshToken, revokeToken) never carry one either.
 *
 * Exposes window.graphiqlAuth = { plugin, fetch, freshToken, username, subscribe }.
 */
(function () {
  "use strict";

  var h = React.createElement;
  var STORAGE_KEY = "social-feed:graphiql-login";
  var endpoint = window.location.pathname;
  var MAX_MARGIN_MS = 30000; // refresh this long before expiry (at most; a quarter of the lifetime when shorter)

  var TOKEN_FIELDS = "token refreshToken payload refreshExpiresIn";
  var TOKEN_AUTH =
    "mutation GraphiQLLogin($username: String!, $password: String!) { " +
    "tokenAuth(username: $username, password: $password) { " + TOKEN_FIELDS + " } }";
  var REFRESH =
    "mutation GraphiQLRefresh($refreshToken: String!) { refreshToken(refreshToken: $refreshToken) { " +
    TOKEN_FIELDS + " } }";
  var REVOKE =
    "mutation GraphiQLLogout($refreshToken: String!) { revokeToken(refreshToken: $refreshToken) { revoked } }";

  // --- the store ------------------------------------------------------------------------------------
  // state: null, or {username, token, refreshToken, lifetimeMs, expiresAt, refreshExpiresAt} (local ms).
  var state = load();
  var notice = "";
  var listeners = [];
  var refreshing = null;
  var timer = null;

  function load() {
    try {
      var value = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
      return value && value.token && value.refreshToken ? value : null;
    } catch (e) {
      return null;
    }
  }

  function persist() {
    try {
      if (state) window.localStorage.setItem(STORAGE_KEY, JSON.stringify(state));
      else window.localStorage.removeItem(STORAGE_KEY);
    } catch (e) {
      /* storage full or disabled: the login lasts as long as the page */
    }
  }

  function notify() {
    schedule();
    listeners.slice().forEach(function (listener) {
      listener();
    });
  }

  function setState(next, message) {
    state = next;
    notice = message || "";
    persist();
    notify();
  }

  function setNotice(message) {
    notice = message;
    notify();
  }

  function subscribe(listener) {
    listeners.push(listener);
    return function () {
      listeners = listeners.filter(function (l) {
        return l !== listener;
      });
    };
  }

  // Another tab of this page logged in, out, or refreshed (a refresh spends the old refresh token).
  window.addEventListener("storage", function (event) {
    if (event.key === STORAGE_KEY) {
      state = load();
      notify();
    }
  });

  function margin(current) {
    return Math.min(MAX_MARGIN_MS, current.lifetimeMs / 4);
  }

  function expiring(current) {
    return current.expiresAt - Date.now() <= margin(current);
  }

  // Refresh ahead of expiry while the page is visible; a hidden page refreshes when next used.
  function schedule() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    if (!state || document.visibilityState === "hidden") return;
    var due = Math.max(0, state.expiresAt - margin(state) - Date.now());
    timer = window.setTimeout(function () {
      timer = null;
      refresh();
    }, due);
  }

  document.addEventListener("visibilitychange", schedule);

  // The tokens of a tokenAuth / refreshToken answer. Lifetimes come from the token's own claims
  // (exp - origIat, both server time), so a wrong clock on this machine does not matter.
  function fromAnswer(answer, username) {
    var payload = answer.payload || {};
    var now = Date.now();
    var issued = payload.origIat || payload.exp;
    var lifetimeMs = Math.max(1000, (payload.exp - issued) * 1000);
    return {
      username: payload.username || username,
      token: answer.token,
      refreshToken: answer.refreshToken,
      lifetimeMs: lifetimeMs,
      expiresAt: now + lifetimeMs,
      refreshExpiresAt: answer.refreshExpiresIn ? now + (answer.refreshExpiresIn - issued) * 1000 : null,
    };
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The panel's own requests: plain JSON POSTs without any Authorization header.
  function post(operationName, query, variables) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    var csrf = csrfToken();
    if (csrf) headers["X-CSRFToken"] = csrf;
    var body = JSON.stringify({ query: query, operationName: operationName, variables: variables });
    return window
      .fetch(endpoint, { method: "POST", headers: headers, body: body })
      .then(function (response) {
        return response.json().catch(function () {
          return { errors: [{ message: "HTTP " + response.status }] };
        });
      });
  }

  function firstError(body) {
    var errors = (body && body.errors) || [];
    return errors.length ? errors[0].message : "";
  }

  function login(username, password) {
    return post("GraphiQLLogin", TOKEN_AUTH, { username: username, password: password }).then(function (body) {
      var answer = body && body.data && body.data.tokenAuth;
      if (!answer || !answer.token) throw new Error(firstError(body) || "Logging in failed.");
      setState(fromAnswer(answer, username));
    });
  }

  function logout() {
    var current = state;
    setState(null, "Logged out.");
    if (current) post("GraphiQLLogout", REVOKE, { refreshToken: current.refreshToken }).catch(function () {});
  }

  // One refresh at a time: every caller waiting meanwhile gets its result (the new access token,
  // or null when the session is over).
  function refresh() {
    if (refreshing) return refreshing;
    var current = state;
    if (!current) return Promise.resolve(null);
    refreshing = post("GraphiQLRefresh", REFRESH, { refreshToken: current.refreshToken })
      .then(
        function (body) {
          var answer = body && body.data && body.data.refreshToken;
          if (answer && answer.token) {
            setState(fromAnswer(answer, current.username));
            return state.token;
          }
          // Another tab may have spent this refresh token first: its tokens are in storage.
          var stored = load();
          if (stored && stored.refreshToken !== current.refreshToken && !expiring(stored)) {
            setState(stored);
            return stored.token;
          }
          if (state === current) {
            setState(null, "Your session ended (" + (firstError(body) || "refresh refused") + "). Log in again.");
          }
          return null;
        },
        function () {
          // The server could not be reached: keep the tokens and try again later.
          return current.token;
        }
      )
      .then(function (token) {
        refreshing = null;
        return token;
      });
    return refreshing;
  }

  // The access token to send now (refreshed first when it is about to expire), or null.
  function freshToken() {
    if (!state) return Promise.resolve(null);
    if (refreshing || expiring(state)) return refresh();
    return Promise.resolve(state.token);
  }

  // --- the fetch GraphiQL's fetcher uses -------------------------------------------------------
  function withoutHeader(headers, name) {
    var out = {};
    Object.keys(headers || {}).forEach(function (key) {
      if (key.toLowerCase() !== name) out[key] = headers[key];
    });
    return out;
  }

  function hasHeader(headers, name) {
    return Object.keys(headers || {}).some(function (key) {
      return key.toLowerCase() === name && String(headers[key] || "").trim() !== "";
    });
  }

  function isIntrospection(body) {
    try {
      var params = JSON.parse(body);
      return !!params && !Array.isArray(params) && params.operationName === "IntrospectionQuery";
    } catch (e) {
      return false;
    }
  }

  function send(url, init, headers) {
    var next = {};
    Object.keys(init || {}).forEach(function (key) {
      next[key] = init[key];
    });
    next.headers = headers;
    return window.fetch(url, next);
  }

  function authFetch(url, init) {
    var headers = (init && init.headers) || {};
    if (isIntrospection(init && init.body)) {
      // The schema needs no viewer: a stale header must never break the Docs.
      return send(url, init, withoutHeader(headers, "authorization"));
    }
    return freshToken().then(function (token) {
      if (!token) {
        return send(url, init, headers).then(function (response) {
          if (response.status === 401 && hasHeader(headers, "authorization")) {
            setNotice(
              "The Authorization header in the Headers pane was refused (expired or not valid). " +
                "Log in here instead (the panel's token replaces it), or delete it from Headers."
            );
          }
          return response;
        });
      }
      var bare = withoutHeader(headers, "authorization");
      var authorized = function (value) {
        var out = withoutHeader(bare, "authorization");
        out.Authorization = "Bearer " + value;
        return out;
      };
      return send(url, init, authorized(token)).then(function (response) {
        if (response.status !== 401) return response;
        // A 401 means the request did not run: safe to send again.
        return refresh().then(function (next) {
          if (next && next !== token) return send(url, init, authorized(next));
          if (!next) return send(url, init, bare);
          return response;
        });
      });
    });
  }

  // --- the panel -------------------------------------------------------------------------------
  function useAuth() {
    var pair = React.useState(0);
    var bump = pair[1];
    React.useEffect(function () {
      var tick = window.setInterval(function () {
        bump(function (n) {
          return n + 1;
        });
      }, 1000);
      var unsubscribe = subscribe(function () {
        bump(function (n) {
          return n + 1;
        });
      });
      return function () {
        window.clearInterval(tick);
        unsubscribe();
      };
    }, []);
    return { state: state, notice: notice };
  }

  function duration(ms) {
    var seconds = Math.max(0, Math.round(ms / 1000));
    if (seconds < 120) return seconds + " s";
    if (seconds < 7200) return Math.round(seconds / 60) + " min";
    if (seconds < 172800) return Math.round(seconds / 3600) + " h";
    return Math.round(seconds / 86400) + " days";
  }

  function LoginForm() {
    var username = React.useState("");
    var password = React.useState("");
    var busy = React.useState(false);
    var error = React.useState("");

    function submit(event) {
      event.preventDefault();
      busy[1](true);
      error[1]("");
      login(username[0].trim(), password[0]).then(
        function () {
          busy[1](false);
          password[1]("");
        },
        function (e) {
          busy[1](false);
          error[1](e.message);
        }
      );
    }

    function field(label, name, type, value, autocomplete) {
      return h(
        "label",
        { className: "login-panel-field" },
        h("span", null, label),
        h("input", {
          name: name,
          type: type,
          value: value[0],
          autoComplete: autocomplete,
          required: true,
          onChange: function (e) {
            value[1](e.target.value);
          },
        })
      );
    }

    return h(
      "form",
      { className: "login-panel-form", onSubmit: submit },
      field("Username", "username", "text", username, "username"),
      field("Password", "password", "password", password, "current-password"),
      h("button", { type: "submit", className: "graphiql-button", disabled: busy[0] },
        busy[0] ? "Logging in…" : "Log in"),
      error[0] ? h("p", { className: "login-panel-error", role: "alert" }, error[0]) : null
    );
  }

  function LoginPanel() {
    var auth = useAuth();
    var current = auth.state;
    var body;
    if (!current) {
      body = [
        h("p", { key: "intro" }, "Log in to send your access token with every query, mutation and subscription. " +
          "It is refreshed before it expires; the Headers pane can stay empty."),
        h(LoginForm, { key: "form" }),
        h("p", { key: "register", className: "login-panel-hint" }, "No account yet? Run the register mutation first."),
      ];
    } else {
      body = [
        h("p", { key: "who", className: "login-panel-status" }, "Logged in as ", h("strong", null, current.username)),
        h(
          "dl",
          { key: "tokens", className: "login-panel-tokens" },
          h("dt", null, "Access token"),
          h("dd", null, "expires in " + duration(current.expiresAt - Date.now()) + " (lifetime " +
            duration(current.lifetimeMs) + "); refreshed automatically"),
          current.refreshExpiresAt ? h("dt", null, "Refresh token") : null,
          current.refreshExpiresAt
            ? h("dd", null, "log in again within " + duration(current.refreshExpiresAt - Date.now()))
            : null
        ),
        h(
          "div",
          { key: "buttons", className: "login-panel-buttons" },
          h("button", { type: "button", className: "graphiql-button", onClick: function () { refresh(); } },
            "Refresh now"),
          h("button", { type: "button", className: "graphiql-button", onClick: logout }, "Log out")
        ),
      ];
    }
    return h(
      "section",
      { className: "login-panel", "aria-label": "Login" },
      h("div", { className: "graphiql-doc-explorer-title" }, "Login"),
      auth.notice ? h("p", { className: "login-panel-notice", role: "status" }, auth.notice) : null,
      body
    );
  }

  function KeyIcon(props) {
    return h(
      "svg",
      Object.assign({ viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", strokeWidth: 1.5,
                      strokeLinecap: "round", strokeLinejoin: "round" }, props),
      h("circle", { cx: 8, cy: 15, r: 4 }),
      h("path", { d: "M10.8 12.2 20 3M16 7l3 3M14 9l2 2" })
    );
  }

  window.graphiqlAuth = {
    plugin: { title: "Login", icon: KeyIcon, content: LoginPanel },
    fetch: authFetch,
    freshToken: freshToken,
    username: function () {
      return state ? state.username : null;
    },
    subscribe: subscribe,
  };
})();
