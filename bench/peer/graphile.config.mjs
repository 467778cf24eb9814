// PostGraphile 5 on the project's own tables, for bench/compare.py (make bench-compare).
// Started as `node node_modules/postgraphile/dist/cli-run.js -C graphile.config.mjs` with
// NODE_ENV=production and these variables:
//   PEER_DATABASE_URL  the project's database (the same one the project serves)
//   PEER_PORT          the port to listen on, on 127.0.0.1
import { makePgService } from "postgraphile/adaptors/pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const connectionString = process.env.PEER_DATABASE_URL;
if (!connectionString) throw new Error("PEER_DATABASE_URL is not set");

/** @type {GraphileConfig.Preset} */
const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [makePgService({ connectionString, schemas: ["public"] })],
  grafserv: {
    host: "127.0.0.1",
    port: Number(process.env.PEER_PORT || 5678),
    graphqlPath: "/graphql",
    watch: false,
    graphiql: false,
  },
  grafast: { explain: false },
};

export default preset;
