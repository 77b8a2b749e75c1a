import { describe, expect, it } from 'vitest';
import { renderMarkdown } from '../../src/lib/ui/markdown';

describe('safe markdown', () => {
	// markdown-it ends block tags with a newline; the structure is what matters here
	const html = (text: string) => renderMarkdown(text).replace(/>\n/g, '>');

	it('renders the allowed constructs', () => {
		expect(html('**bold** and *it* and `x<y`')).toBe(
			'<p><strong>bold</strong> and <em>it</em> and <code>x&lt;y</code></p>'
		);
		expect(html('- a\n- b\n\n1. one')).toBe('<ul><li>a</li><li>b</li></ul><ol><li>one</li></ol>');
		expect(html('```\n<b>\n```')).toBe('<pre><code>&lt;b&gt;\n</code></pre>');
		expect(html('知とは何かね？\n君はどう思う。')).toBe('<p>知とは何かね？<br>君はどう思う。</p>');
		expect(html('# Title')).toBe('<h3>Title</h3>');
	});

	it('links only to http(s) and mailto, in a new tab without opener or referrer', () => {
		expect(html('[a](https://ok.example/x)')).toBe(
			'<p><a href="https://ok.example/x" rel="noopener noreferrer nofollow" target="_blank">a</a></p>'
		);
		for (const url of [
			'javascript:alert(1)',
			'data:text/html,x',
			'vbscript:x',
			'/local',
			'JaVaScRiPt:x'
		])
			expect(html(`[a](${url})`)).not.toMatch(/<a /);
		expect(html('![i](https://tracker.example/p.png)')).not.toMatch(/<img/);
	});

	const payloads = [
		'<script>alert(1)</script>',
		'<img src=x onerror=alert(1)>',
		'<svg/onload=alert(1)>',
		'[click](javascript:alert(1))',
		'[x](https://a.example/"onmouseover="alert(1))',
		'<a href="javascript:alert(1)">x</a>',
		'&lt;script&gt;',
		'[x](data:text/html;base64,PHNjcmlwdD4=)',
		'<a href="https://ok.example" onclick="x()">y</a>',
		'`<script>`',
		'```\n<img src=x onerror=alert(1)>\n```'
	];
	for (const p of payloads) {
		it(`keeps ${JSON.stringify(p)} inert`, () => {
			const html = renderMarkdown(p);
			expect(html).not.toMatch(/<(script|img|svg|iframe)/i);
			expect(html).not.toMatch(/href="(javascript|data):/i);
			expect(html).not.toMatch(/\son\w+="/i);
		});
	}
});
