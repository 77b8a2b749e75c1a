import { onDawn } from './dawn';

await onDawn(() => import('../gpu/device.test'));
