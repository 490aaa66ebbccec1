"""The CDK app (aws-cdk-lib v2): the platform's topology rendered as CloudFormation.

`infra.app.build_app(options)` builds the App in-process (ecomctl synth, the tests);
`infra/app.py` is also the entry point the `cdk` CLI runs (see infra/cdk.json).
This package imports nothing of ecomctl; in an installed wheel it is `ecomctl._repo.infra`
(pyproject.toml maps it), so its modules import each other relatively.
"""
