"""The file spark-submit runs: the batch scorer's command line, with the package on the workers.

    spark-submit --archives batch-env.tar.gz#environment scripts/score_on_spark.py \
        INPUT OUTPUT --engine spark

See model-package/README.md's "Batch scoring" section for building batch-env.tar.gz.
"""

from {{ cookiecutter.package_name }}.batch.__main__ import main

main()
