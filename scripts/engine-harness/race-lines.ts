/**
 * The "MatMulNBits race" section of the bench (markdown lines), from race.ts's result. No browser,
 * GPU or onnxruntime import here: bench-main.ts prints it in Node.
 */
import type { RaceResult, RaceRow } from './race';

/** Target of issue 13: ours at least this many times faster on the same device. */
export const RACE_TARGET = 1.2;

function ratioCell(r: RaceRow): string {
	if (r.skipped) return `— (${r.skipped.replace(/\|/g, '/').replace(/\s+/g, ' ')})`;
	if (!r.agree) return '— (outputs differ: not raced)';
	return `**${r.ratio.toFixed(2)}×**${r.ratio >= RACE_TARGET ? '' : ` (below ${RACE_TARGET}×)`}`;
}

export function raceLines(race: RaceResult, software: boolean): string[] {
	const lines = [
		`MatMulNBits race: our q4 GEMV (M ≤ 4) and GEMM (larger M) against onnxruntime-web ${race.ortVersion || '(version unknown)'}'s WebGPU \`com.microsoft.MatMulNBits\` (bits 4, block 32, no zero points: MLC's codes shifted by one so ORT's default zero point 8 gives the same weights), on the same GPUDevice in the same page or process, same weights and inputs, Gemma-2 2B projection shapes (LM head excluded). Outputs are compared first (max |ours − ORT| against max |Y|; a shape whose outputs differ is not raced). Then, after one warm-up call each, interleaved rounds (ours, ORT, ours, ORT, …), each round \`calls\` calls submitted back to back and waited for (onSubmittedWorkDone: wall time, each side's CPU encoding included); ratio = median over the rounds of ORT's time / ours (> 1: ours faster; target ≥ ${RACE_TARGET}×). f32 rows: A, scales, Y f32 on both sides; f16 rows (devices with \`shader-f16\` only): ORT with f16 A/scales/Y, ours with f16 scales (q4f16_1).`
	];
	if (software)
		lines.push(
			'',
			'**This adapter is a software rasterizer (CPU-emulated WebGPU): these ratios compare two kernels on a CPU, not on a GPU.**'
		);
	if (race.error) return [...lines, '', `The race did not run: ${race.error}`];
	lines.push(
		'',
		'| shape | M | N × K | dtype | ours ms / call | ORT ms / call | ratio (median) | calls × rounds | max abs diff (max abs Y) |',
		'|---|---|---|---|---|---|---|---|---|'
	);
	// a dtype skipped on every shape for one reason (f16 without shader-f16) is one line below
	const wholly = new Map<string, string>();
	for (const dtype of new Set(race.rows.map((r) => r.dtype))) {
		const reasons = new Set(race.rows.filter((r) => r.dtype === dtype).map((r) => r.skipped));
		const [reason] = reasons;
		if (reasons.size === 1 && reason) wholly.set(dtype, reason);
	}
	for (const r of race.rows.filter((r) => !wholly.has(r.dtype))) {
		const ran = !r.skipped && r.agree;
		lines.push(
			`| ${r.shape} | ${r.M} | ${r.N} × ${r.K} | ${r.dtype} | ${ran ? r.oursMs.toFixed(3) : '—'} | ${ran ? r.theirsMs.toFixed(3) : '—'} | ${ratioCell(r)} | ${ran ? `${r.calls} × ${r.rounds}` : '—'} | ${r.skipped ? '—' : `${r.maxAbsDiff.toExponential(1)} (${r.maxAbsY.toFixed(2)})`} |`
		);
	}
	for (const [dtype, reason] of wholly) lines.push('', `${dtype} rows: not raced — ${reason}.`);
	return lines;
}
