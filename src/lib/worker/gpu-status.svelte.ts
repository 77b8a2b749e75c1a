/**
 * WebGPU status for the UI: a quick main-thread check (is there `navigator.gpu` at all?), then the
 * worker's full report. Shared reactive state so the layout, home and settings agree.
 */
import type { GpuReport } from './api';
import { noGpuReport } from '../session/gpu-report';
import { worker } from './client';

export const gpuStatus = $state<{
	checked: boolean;
	report: GpuReport | null;
	error: string | null;
}>({
	checked: false,
	report: null,
	error: null
});

let started = false;

export function checkGpu(): void {
	if (started) return;
	started = true;
	if (!('gpu' in navigator) || !navigator.gpu) {
		gpuStatus.report = noGpuReport(
			'navigator.gpu is not defined: this browser (or its settings) does not expose WebGPU.'
		);
		gpuStatus.checked = true;
		return;
	}
	worker()
		.gpuReport()
		.then((r) => (gpuStatus.report = r))
		.catch((e: unknown) => (gpuStatus.error = e instanceof Error ? e.message : String(e)))
		.finally(() => (gpuStatus.checked = true));
}
