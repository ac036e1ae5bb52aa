import { killSuite } from './kill-suite';

killSuite('email', Array.from({ length: 45 }, (_, i) => i + 1));
