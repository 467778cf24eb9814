// Preloaded by generate.sh (node --require): SpectaQL picks example values with Math.random; a fixed
// seed makes the generated reference the same for the same inputs, so a regeneration diffs cleanly.
let state = 0x5eed1234;
Math.random = function seededRandom() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
