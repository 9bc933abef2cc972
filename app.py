"""The web demo: `python app.py` serves every checkpoint under checkpoints/ at http://127.0.0.1:7860.

Checkpoints may also be named with --checkpoint (repeatable) or the NMT_CHECKPOINTS environment
variable (comma-separated): a folder, or hf:OWNER/REPO[@REVISION] on the Hugging Face Hub.
"""

import argparse
import logging
import os
import threading
from pathlib import Path

# Private by default: no usage analytics, no telemetry; set before gradio and the Hub client load.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", action="append", help="checkpoint folder or hf:OWNER/REPO[@REVISION]")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from nmt.interface import build
    from nmt.serving import checkpoint_specs, load_pairs, warm_up
    from nmt.translator import use_decoding_settings

    use_decoding_settings()
    specs = checkpoint_specs(args.checkpoint, os.environ.get("NMT_CHECKPOINTS", ""), CHECKPOINTS)
    pairs, failures, examples = load_pairs(specs)
    if not pairs:
        raise SystemExit("error: no checkpoint could be loaded:\n" + "\n".join(failures.values()))
    demo = build(pairs, failures, examples)
    threading.Thread(target=warm_up, args=(pairs,), name="warm-up", daemon=True).start()
    demo.launch(share=args.share, allowed_paths=[], footer_links=["api"])


if __name__ == "__main__":
    main()
