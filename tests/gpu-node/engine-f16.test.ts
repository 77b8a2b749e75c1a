import { onDawn } from './dawn';

await onDawn(() => import('../gpu/engine-f16.test'));
