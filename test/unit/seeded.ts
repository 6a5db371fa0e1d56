// Why: the seeded tests (fuzzing, forged messages, random interleavings) must replay exactly from their seed;
// they use the core's one generator (the head probe's).

export { seededRandom } from '../../src/core/seededRandom';
