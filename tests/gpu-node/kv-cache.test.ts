import { onDawn } from './dawn';

await onDawn(() => import('../gpu/kv-cache.test'));
