/**
 * Messages of the home page's guided first run, the model loader's errors, chat's conversation
 * housekeeping, offline status and the plural units (see ./format.ts): English and Japanese.
 */
export const shellEn = {
	'first.title': 'Your first step',
	'first.intro':
		'Load the model once: open Chat and press “Load model”. It comes from the Hugging Face hub (or your classroom mirror) and stays in this browser, so later visits start without downloading.',
	'first.cost.download': 'Download: about {size}, once.',
	'first.cost.time': 'Time: about {time} at the {speed}/s measured on your last download.',
	'first.cost.timeBrowser':
		'Time: about {time} at the {mbps} Mbit/s this browser estimates for your connection.',
	'first.cost.timeUnknown': 'Time: about {slow} at 10 Mbit/s, {fast} at 100 Mbit/s.',
	'first.cost.gpu': 'GPU memory: about {chat} to chat, {train} to train a LoRA adapter.',
	'first.cta': 'Open Chat and load the model',
	'first.loaded':
		'A model is loaded ({name}). Chat with it, or build a dataset in the data studio.',
	'first.cannot':
		'This machine cannot run the model, for the reasons below. You can still write characters, prepare datasets and export them here, and train on a computer with WebGPU.',
	'check.title': 'Can this machine run it?',
	'check.checking': 'Checking this machine…',
	'check.verdict.ok': 'Yes: this machine has what the model needs.',
	'check.verdict.slow':
		'It runs, but on a software GPU: replies and training will be very slow. A computer with a graphics card (or the browser’s hardware acceleration turned on) is much faster.',
	'check.verdict.cannot': 'No, not in this browser.',
	'check.webgpu.ok': 'WebGPU is available.',
	'check.webgpu.bad': 'WebGPU is not available: {reason}',
	'check.storageBinding.ok': 'Largest storage binding: {have} (needs {need}).',
	'check.storageBinding.bad':
		'Largest storage binding is only {have}; the engine needs at least {need}.',
	'check.buffer.ok': 'Largest GPU buffer: {have} (needs {need}).',
	'check.buffer.bad': 'Largest GPU buffer is only {have}; the engine needs at least {need}.',
	'check.memory.ok': 'Memory: {have} reported; chat needs about {need}.',
	'check.memory.bad':
		'Memory: this computer reports {have}; chat needs about {need} plus what the browser uses, so loading will probably fail.',
	'check.memory.unknown':
		'Memory: this browser does not say; chat needs about {need} of GPU memory.',
	'check.hardware.ok': 'Graphics: {name}.',
	'check.hardware.bad': 'Graphics: {name} is a software renderer: it works, slowly.',
	'check.shaderF16.ok': 'Half precision (shader-f16): available.',
	'check.shaderF16.bad':
		'Half precision (shader-f16): not offered; the engine uses its 32-bit path (works, a little slower).',
	'loadError.title': 'The model did not load',
	'loadError.offline':
		'The model files could not be downloaded: this computer seems to be offline, or the hub (or mirror) cannot be reached. What was already downloaded is kept; the next try resumes.',
	'loadError.notFound':
		'The files were not found at this source: check the repository name and revision, or the folder’s address.',
	'loadError.denied': 'The source refused access: the repository may be gated or private.',
	'loadError.storage':
		'The browser has no room left to keep the model: delete cached models in Settings, or load it from a folder instead.',
	'loadError.noFolder': 'Choose a model folder first.',
	'loadError.format':
		'The files were found but are not a Gemma-2 model the studio can read (see the details).',
	'loadError.gpu':
		'The GPU could not take the model (not enough GPU memory, or the device was lost). Close other tabs that use the GPU and try again.',
	'loadError.unknown': 'Something unexpected went wrong (see the details).',
	'loadError.details': 'Details',
	'loadError.next': 'What you can do:',
	'loadError.retry': 'Try again',
	'loadError.useFolder': 'Load a folder on this computer',
	'loadError.useUrl': 'Load a served folder (URL)',
	'loadError.useMirror': 'Set a classroom mirror in Settings',
	'offline.shellOnly':
		'The studio itself reloads without a network, but no model is cached yet: load one once while online.',
	'unit.tokens.one': '{count} token',
	'unit.tokens.other': '{count} tokens',
	'unit.messages.one': '{count} message',
	'unit.messages.other': '{count} messages',
	'chat.character': 'Character',
	'chat.character.none': 'None (your own prompt)',
	'chat.character.help':
		'A studio character brings its prompt. It applies from the first message of a new conversation.',
	'chat.search': 'Search conversations',
	'chat.search.none': 'No conversation matches.',
	'chat.rename': 'Rename',
	'chat.rename.prompt': 'New name for “{title}”',
	'chat.delete': 'Delete',
	'chat.delete.confirm': 'Delete the conversation “{title}” ({messages})? This cannot be undone.',
	'chat.actions': 'Conversation actions',
	'chat.tooLong':
		'This message does not fit: with the conversation it is {tokens}, and the model’s context holds {limit}. Shorten it or start a new conversation. Nothing was saved.',
	'chat.prefill': 'Processing the prompt ({tokens})…',
	'chat.notSent': 'The message was not sent; it is back in the box so you can try again.'
};

export const shellJa: Record<keyof typeof shellEn, string> = {
	'first.title': '最初にすること',
	'first.intro':
		'まずモデルを一度読み込みます。「チャット」を開いて「モデルを読み込む」を押してください。Hugging Face Hub(または教室のミラー)から取得し、このブラウザに保存されるので、次回からはダウンロード不要です。',
	'first.cost.download': 'ダウンロード: 約 {size}(初回のみ)',
	'first.cost.time': '時間: 前回のダウンロードで測った {speed}/秒 で約 {time}',
	'first.cost.timeBrowser': '時間: このブラウザが推定する回線速度 {mbps} Mbit/秒 で約 {time}',
	'first.cost.timeUnknown': '時間: 10 Mbit/秒 で約 {slow}、100 Mbit/秒 で約 {fast}',
	'first.cost.gpu': 'GPU メモリ: チャットに約 {chat}、LoRA の学習に約 {train}',
	'first.cta': 'チャットを開いてモデルを読み込む',
	'first.loaded':
		'モデルを読み込み済みです({name})。チャットするか、データスタジオでデータセットを作りましょう。',
	'first.cannot':
		'以下の理由で、このマシンではモデルを動かせません。キャラクターの作成やデータセットの準備・書き出しはここでもでき、学習は WebGPU のあるコンピュータで行えます。',
	'check.title': 'このマシンで動きますか?',
	'check.checking': 'このマシンを確認しています…',
	'check.verdict.ok': 'はい。モデルに必要なものがそろっています。',
	'check.verdict.slow':
		'動きますが、ソフトウェア GPU なので応答も学習もとても遅くなります。グラフィックスカードのあるコンピュータ(またはブラウザのハードウェアアクセラレーションを有効に)の方がずっと速いです。',
	'check.verdict.cannot': 'いいえ、このブラウザでは動きません。',
	'check.webgpu.ok': 'WebGPU が使えます。',
	'check.webgpu.bad': 'WebGPU が使えません: {reason}',
	'check.storageBinding.ok': 'ストレージバインディングの上限: {have}(必要 {need})',
	'check.storageBinding.bad':
		'ストレージバインディングの上限が {have} しかありません。最低 {need} 必要です。',
	'check.buffer.ok': 'GPU バッファの上限: {have}(必要 {need})',
	'check.buffer.bad': 'GPU バッファの上限が {have} しかありません。最低 {need} 必要です。',
	'check.memory.ok': 'メモリ: {have}。チャットに約 {need} 必要です。',
	'check.memory.bad':
		'メモリ: このコンピュータは {have} です。チャットには約 {need} とブラウザ自身の分が必要なので、読み込みに失敗する可能性が高いです。',
	'check.memory.unknown':
		'メモリ: このブラウザは報告しません。チャットには約 {need} の GPU メモリが必要です。',
	'check.hardware.ok': 'グラフィックス: {name}',
	'check.hardware.bad': 'グラフィックス: {name} はソフトウェアレンダラーです(動きますが遅いです)。',
	'check.shaderF16.ok': '半精度(shader-f16): 使えます。',
	'check.shaderF16.bad':
		'半精度(shader-f16): 使えません。32 ビットの経路で動きます(少し遅くなります)。',
	'loadError.title': 'モデルを読み込めませんでした',
	'loadError.offline':
		'モデルのファイルをダウンロードできませんでした。オフラインか、Hub(またはミラー)に接続できません。ダウンロード済みの分は保存されており、次回はその続きから再開します。',
	'loadError.notFound':
		'この場所にファイルが見つかりません。リポジトリ名とリビジョン、またはフォルダのアドレスを確認してください。',
	'loadError.denied': 'アクセスが拒否されました。リポジトリが制限付きか非公開の可能性があります。',
	'loadError.storage':
		'ブラウザにモデルを保存する空きがありません。設定でキャッシュ済みのモデルを削除するか、フォルダから読み込んでください。',
	'loadError.noFolder': '先にモデルのフォルダを選んでください。',
	'loadError.format':
		'ファイルは見つかりましたが、スタジオが読める Gemma-2 モデルではありません(詳細を参照)。',
	'loadError.gpu':
		'GPU がモデルを受け入れられませんでした(GPU メモリ不足、またはデバイスの消失)。GPU を使う他のタブを閉じてもう一度試してください。',
	'loadError.unknown': '予期しないエラーが起きました(詳細を参照)。',
	'loadError.details': '詳細',
	'loadError.next': '次にできること:',
	'loadError.retry': 'もう一度試す',
	'loadError.useFolder': 'このコンピュータのフォルダから読み込む',
	'loadError.useUrl': '配信されているフォルダ(URL)から読み込む',
	'loadError.useMirror': '設定で教室のミラーを指定する',
	'offline.shellOnly':
		'スタジオ自体はネットワークなしで再読み込みできますが、まだモデルが保存されていません。オンラインのときに一度読み込んでください。',
	'unit.tokens.one': '{count} トークン',
	'unit.tokens.other': '{count} トークン',
	'unit.messages.one': '{count} 件のメッセージ',
	'unit.messages.other': '{count} 件のメッセージ',
	'chat.character': 'キャラクター',
	'chat.character.none': 'なし(自分のプロンプト)',
	'chat.character.help':
		'スタジオのキャラクターを選ぶと、そのプロンプトが使われます。新しい会話の最初のメッセージから適用されます。',
	'chat.search': '会話を検索',
	'chat.search.none': '一致する会話はありません。',
	'chat.rename': '名前を変更',
	'chat.rename.prompt': '「{title}」の新しい名前',
	'chat.delete': '削除',
	'chat.delete.confirm': '会話「{title}」({messages})を削除しますか? 元に戻せません。',
	'chat.actions': '会話の操作',
	'chat.tooLong':
		'このメッセージは長すぎます。会話と合わせて {tokens} で、モデルのコンテキストは {limit} までです。短くするか、新しい会話を始めてください。何も保存されていません。',
	'chat.prefill': 'プロンプトを処理しています({tokens})…',
	'chat.notSent': 'メッセージは送信されませんでした。入力欄に戻したので、もう一度試せます。'
};
