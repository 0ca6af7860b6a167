import { swarmSuitePart } from './swarm-suite.js';

swarmSuitePart(1);
