import { memberSwarmSuitePart } from './member-swarm-suite.js';

memberSwarmSuitePart(2);
