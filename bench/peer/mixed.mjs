// A mixed load for bench/compare: the newest-posts page, with one request in WRITE_EVERY a write on the
// posts of that page (alternately a like toggled — likePost / unlikePost — and a comment), as one user.
// autocannon's own API (the package pinned beside this file); prints autocannon's JSON result, as `-j` does.
//
//   node mixed.mjs URL CONNECTIONS DURATION_S READ_BODY_FILE TOKEN POST_IDS(comma-separated) [WRITE_EVERY=20]
import { readFileSync } from "node:fs";
import autocannon from "autocannon";

const [url, connections, duration, readBodyFile, token, postIdList, writeEvery = "20"] = process.argv.slice(2);
const readBody = readFileSync(readBodyFile, "utf8");
const postIds = postIdList.split(",");
const every = Number(writeEvery);
const liked = new Map();
let sent = 0;
let writes = 0;

const LIKE = "mutation($id: ID!) { likePost(input: {postId: $id}) { post { likeCount } errors { code } } }";
const UNLIKE = "mutation($id: ID!) { unlikePost(input: {postId: $id}) { post { likeCount } errors { code } } }";
const COMMENT = "mutation($id: ID!, $b: String!) { createComment(input: {postId: $id, body: $b}) { comment { id } errors { code } } }";

function writeBody() {
  const id = postIds[writes % postIds.length];
  writes += 1;
  if (writes % 2 === 0) {
    return JSON.stringify({ query: COMMENT, variables: { id, b: `bench comment ${writes}` } });
  }
  const query = liked.get(id) ? UNLIKE : LIKE;
  liked.set(id, !liked.get(id));
  return JSON.stringify({ query, variables: { id } });
}

const instance = autocannon({
  url,
  connections: Number(connections),
  duration: Number(duration),
  requests: [{
    method: "POST",
    setupRequest(request) {
      sent += 1;
      const headers = { ...request.headers, "content-type": "application/json" };
      if (sent % every === 0) {
        return { ...request, headers: { ...headers, authorization: `Bearer ${token}` }, body: writeBody() };
      }
      return { ...request, headers, body: readBody };
    },
  }],
}, (error, result) => {
  if (error) {
    console.error(error);
    process.exit(1);
  }
  result.writes = writes;
  process.stdout.write(JSON.stringify(result));
});
