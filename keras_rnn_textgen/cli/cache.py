"""`cache`: where prepared corpora are kept, how much room they take, and clearing them."""

import click

from keras_rnn_textgen.cli.common import user_errors


@click.command()
@click.option("--clear", is_flag=True, help="Remove every prepared corpus.")
@click.pass_context
def cache(ctx, clear):
    """Show (or --clear) the cache of prepared corpora: their vocabularies and token ids.

    fit and evaluate read a corpus once and keep what they made of it here, keyed by the
    files' paths, sizes and modification times, so a resumed run starts at once. Set
    KERAS_RNN_TEXTGEN_CACHE to keep it elsewhere.
    """
    with user_errors(ctx):
        from keras_rnn_textgen.data.cache import cache_root, cache_size, clear_cache

        root = cache_root()
        if clear:
            freed = clear_cache(root)
            click.echo(f"removed {freed / 2**20:.1f} MB from {root}")
            return
        entries, size = cache_size(root)
        click.echo(f"{root}: {entries} entries, {size / 2**20:.1f} MB")
