/**
 * The loss curve as an image file for a model card: a PNG drawn on an OffscreenCanvas (or a
 * canvas element) from the run's metrics, or the same curve as SVG where no canvas can encode PNG
 * (Node, old browsers).
 */
import type { TrainingMetric } from '../data/types';
import { LOSS_COLORS, lossCurveGeometry, lossCurveSvg, type LossCurve } from './model-card';

type Ctx2D = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;

function draw(ctx: Ctx2D, g: LossCurve) {
	const { plot } = g;
	ctx.fillStyle = '#ffffff';
	ctx.fillRect(0, 0, g.width, g.height);
	ctx.strokeStyle = LOSS_COLORS.axis;
	ctx.lineWidth = 1;
	ctx.beginPath();
	ctx.moveTo(plot.left, plot.top);
	ctx.lineTo(plot.left, plot.bottom);
	ctx.lineTo(plot.right, plot.bottom);
	ctx.stroke();
	ctx.fillStyle = LOSS_COLORS.text;
	ctx.font = '11px sans-serif';
	ctx.textAlign = 'right';
	for (const t of g.yTicks) ctx.fillText(t.label, plot.left - 6, t.y + 4);
	ctx.textAlign = 'center';
	for (const t of g.xTicks) ctx.fillText(t.label, t.x, plot.bottom + 16);
	ctx.fillText('step', (plot.left + plot.right) / 2, g.height - 4);
	const line = (pts: [number, number][], color: string, dash: number[]) => {
		if (!pts.length) return;
		ctx.strokeStyle = color;
		ctx.lineWidth = 2;
		ctx.setLineDash(dash);
		ctx.beginPath();
		pts.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
		ctx.stroke();
		ctx.setLineDash([]);
	};
	line(g.train, LOSS_COLORS.train, []);
	line(g.eval, LOSS_COLORS.eval, [5, 3]);
}

/** `{ path: 'loss.png' | 'loss.svg', content }`, or null when the run logged no loss. */
export async function lossCurveImage(
	metrics: TrainingMetric[]
): Promise<{ path: string; content: Blob } | null> {
	const g = lossCurveGeometry(metrics);
	if (!g) return null;
	if (typeof OffscreenCanvas !== 'undefined') {
		try {
			const canvas = new OffscreenCanvas(g.width, g.height);
			const ctx = canvas.getContext('2d');
			if (ctx) {
				draw(ctx, g);
				return { path: 'loss.png', content: await canvas.convertToBlob({ type: 'image/png' }) };
			}
		} catch {
			// fall back to SVG below
		}
	}
	return { path: 'loss.svg', content: new Blob([lossCurveSvg(g)], { type: 'image/svg+xml' }) };
}
