// Apollo Client 4, as an app ships it, against a running server (driven by tests/api/test_apollo_client.py).
// Usage: node apollo.mjs <http base, e.g. http://127.0.0.1:8000> <ws url> <username> <password>
// Prints one JSON object with what each step saw; the pytest test checks it.
import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  HttpLink,
  InMemoryCache,
  gql,
} from "@apollo/client";
import { BatchHttpLink } from "@apollo/client/link/batch-http";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { sha256 } from "crypto-hash";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [base, wsUrl, username, password] = process.argv.slice(2);
const uri = `${base}/graphql`;
const out = {};

// Every HTTP request and its response's status and headers, to check the wire format.
const wire = [];
async function recordingFetch(url, init = {}) {
  const response = await fetch(url, init);
  wire.push({
    method: init.method ?? "GET",
    url: String(url),
    body: typeof init.body === "string" ? JSON.parse(init.body) : null,
    status: response.status,
    contentType: response.headers.get("content-type"),
    cacheControl: response.headers.get("cache-control"),
  });
  return response;
}

const client = (link) => new ApolloClient({ link, cache: new InMemoryCache() });
const http = () => new HttpLink({ uri, fetch: recordingFetch });

async function codesOf(promise) {
  try {
    await promise;
    return { thrown: null };
  } catch (error) {
    if (!CombinedGraphQLErrors.is(error)) return { thrown: error.constructor.name, message: error.message };
    return { thrown: "CombinedGraphQLErrors", codes: error.errors.map((e) => e.extensions?.code) };
  }
}

const USERS = gql`query Users { users(first: 5) { edges { node { username } } } }`;
const LOGIN = gql`
  mutation Login($username: String!, $password: String!) {
    tokenAuth(username: $username, password: $password) { token refreshToken }
  }
`;
const CREATE = gql`
  mutation Create($body: String!) {
    createPost(input: { body: $body }) { post { id body author { username } } errors { code } }
  }
`;

// 1. A query.
const plain = client(http());
const users = await plain.query({ query: USERS });
out.query = users.data.users.edges.map((edge) => edge.node.username);

// 2. A mutation with a token (logging in first), and the token trap: a stale header never blocks tokenAuth.
const login = await plain.mutate({
  mutation: LOGIN,
  variables: { username, password },
  context: { headers: { authorization: "Bearer expired.or.forged" } },
});
const token = login.data.tokenAuth.token;
out.loginWithStaleHeader = Boolean(token);
const authorization = { authorization: `Bearer ${token}` };
const created = await plain.mutate({
  mutation: CREATE,
  variables: { body: "hello from Apollo Client 4" },
  context: { headers: authorization },
});
out.mutation = created.data.createPost;

// 3. Errors, with their codes, read from CombinedGraphQLErrors.
out.errors = {
  validation: await codesOf(plain.query({ query: gql`query Nope { nope }` })),
  anonymousMutation: await codesOf(plain.mutate({ mutation: CREATE, variables: { body: "anonymous" } })),
  badToken: await codesOf(plain.query({
    query: gql`query Viewer { viewer { username } }`,
    context: { headers: { authorization: "Bearer not-a-token" } },
    fetchPolicy: "network-only",
  })),
  badVariables: await codesOf(plain.query({
    query: gql`query Page($n: Int!) { users(first: $n) { edges { cursor } } }`,
    variables: { n: "many" },
  })),
};
out.errorStatuses = wire.filter((w) => w.status >= 400).map((w) => [w.status, w.contentType]);

// 4. A subscription through graphql-ws (graphql-transport-ws at /graphql).
const ws = createClient({
  url: wsUrl,
  webSocketImpl: WebSocket,
  connectionParams: authorization,
  retryAttempts: 0,
});
const live = client(ApolloLink.split(
  ({ query }) => query.definitions.some((d) => d.kind === "OperationDefinition" && d.operation === "subscription"),
  new GraphQLWsLink(ws),
  http(),
));
const event = new Promise((resolve, reject) => {
  const subscription = live.subscribe({
    query: gql`subscription Created { postCreated { body author { username } } }`,
  }).subscribe({
    next: (result) => {
      subscription.unsubscribe();
      resolve(result.data.postCreated);
    },
    error: reject,
  });
});
// The subscription starts asynchronously on the server: post until one arrives (each one would).
let received = null;
for (let attempt = 1; attempt <= 40 && !received; attempt += 1) {
  await live.mutate({ mutation: CREATE, variables: { body: `live ${attempt}` }, context: { headers: authorization } });
  received = await Promise.race([event, new Promise((resolve) => setTimeout(() => resolve(null), 250))]);
}
out.subscription = received;
await ws.dispose();

// 5. Automatic persisted queries, hashed queries sent with GET (cacheable by URL).
const APQ = gql`query ApqUsers { users(first: 2) { edges { node { username } } } }`;
const apqLink = () => new PersistedQueryLink({ sha256, useGETForHashedQueries: true }).concat(http());
const before = wire.length;
const first = await client(apqLink()).query({ query: APQ });
const second = await client(apqLink()).query({ query: APQ });
out.apq = {
  first: first.data.users.edges.length,
  second: second.data.users.edges.length,
  wire: wire.slice(before).map((w) => ({
    method: w.method,
    hasQuery: w.method === "GET" ? new URL(w.url).searchParams.has("query") : Boolean(w.body?.query),
    hasHash: w.method === "GET"
      ? (new URL(w.url).searchParams.get("extensions") ?? "").includes("sha256Hash")
      : Boolean(w.body?.extensions?.persistedQuery?.sha256Hash),
    status: w.status,
    cacheControl: w.cacheControl,
  })),
};

// 6. BatchHttpLink: operations issued together travel in one POST (a JSON array).
const batched = client(new BatchHttpLink({
  uri, fetch: recordingFetch, headers: authorization, batchMax: 10, batchInterval: 20,
}));
const start = wire.length;
const [a, b, c] = await Promise.all([
  batched.query({ query: USERS }),
  batched.query({ query: gql`query One { user(username: "${username}") { username } }` }),
  batched.mutate({ mutation: CREATE, variables: { body: "batched" } }),
]);
out.batch = {
  requests: wire.slice(start).map((w) => ({ method: w.method, operations: Array.isArray(w.body) ? w.body.length : 1 })),
  results: [a.data.users.edges.length, b.data.user.username, c.data.createPost.post.body],
};

console.log(JSON.stringify(out));
