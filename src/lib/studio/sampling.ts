/**
 * Sampling settings' allowed ranges, in one place for every form that edits them (chat,
 * generation's two sides) and for the checks a job runs before it starts.
 */
import type { SamplingSettings } from '../data/types';

export type SamplingField = Exclude<keyof SamplingSettings, 'seed'>;

export interface FieldLimit {
	min: number;
	max: number;
	step: number;
	integer: boolean;
}

export const SAMPLING_LIMITS: Record<SamplingField, FieldLimit> = {
	temperature: { min: 0, max: 2, step: 0.05, integer: false },
	topK: { min: 0, max: 1000, step: 1, integer: true },
	topP: { min: 0, max: 1, step: 0.01, integer: false },
	repetitionPenalty: { min: 1, max: 2, step: 0.01, integer: false },
	maxNewTokens: { min: 1, max: 4096, step: 1, integer: true }
};

export const SAMPLING_FIELDS = Object.keys(SAMPLING_LIMITS) as SamplingField[];

/** The limit a value breaks (not a number, out of range, not whole), or null when it is fine. */
export function limitProblem(value: unknown, limit: FieldLimit): FieldLimit | null {
	const ok =
		typeof value === 'number' &&
		Number.isFinite(value) &&
		value >= limit.min &&
		value <= limit.max &&
		(!limit.integer || Number.isInteger(value));
	return ok ? null : limit;
}

/** Every field of `sampling` outside its limits, with the limit (empty when all are fine). */
export function samplingProblems(
	sampling: Partial<SamplingSettings>,
	fields: SamplingField[] = SAMPLING_FIELDS
): { field: SamplingField; limit: FieldLimit }[] {
	return fields.flatMap((field) => {
		const limit = limitProblem(sampling[field], SAMPLING_LIMITS[field]);
		return limit ? [{ field, limit }] : [];
	});
}
