export { type CheckOptions, type CheckResult, DEFAULT_TIMEOUT_MS, checkLinearizable } from './checker.js';
export { type CertainViolation, findCertainViolation } from './direct-checks.js';
export { describeOperation, describeRequest, describeResponse } from './describe.js';
export {
  type Applied,
  type KeyRecord,
  type ModelState,
  applyRequest,
  compareHolds,
  describeState,
  hasLease,
  initialState,
  latestRevisionBefore,
  stateFrom,
  step,
} from './etcd-model.js';
