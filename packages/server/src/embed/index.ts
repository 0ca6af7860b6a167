// Assembly: a member's storage, Raft, services and listeners wired into one running process.
export { startMember, type RunningMember } from './start-member.js';
export { ClientServer } from './client-server.js';
