import { killSuite } from './kill-suite';

killSuite('teams', Array.from({ length: 45 }, (_, i) => i + 1));
