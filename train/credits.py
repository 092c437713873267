"""Write the training-data credits the photographs' licences require.

    /usr/bin/python3 train/credits.py > fixtures/models/TRAINING-DATA.md

Reads ../shared/data/train-photos/MANIFEST.tsv (every photograph the model
was trained on, with its Debian package, licence and author).
"""
import csv
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
manifest = os.path.join(here, "..", "..", "shared", "data", "train-photos", "MANIFEST.tsv")
rows = list(csv.DictReader(open(manifest, encoding="utf-8"), delimiter="\t"))
out = sys.stdout
out.write("# Training data of the default score model\n\n")
out.write(f"The model in this folder was trained on these {len(rows)} photographs, taken from free-licensed\n")
out.write("Debian packages (wallpaper and theme packages, a photo-album demo). The CC-BY and CC-BY-SA\n")
out.write("licences require this credit wherever the model is shown. Rebuild the originals with\n")
out.write("`apt-get download PACKAGE` and `dpkg-deb -x`.\n\n")
out.write("| photograph | Debian package (version) | path in package | licence | credit |\n|---|---|---|---|---|\n")
for r in rows:
    cells = [r["file"], f"{r['debian_package']} ({r['version']})", r["path_in_package"], r["license"], r["credit"]]
    out.write("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |\n")
