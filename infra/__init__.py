"""The CDK app (aws-cdk-lib v2): the platform's topology rendered as CloudFormation.

`infra.app.build_app(options)` builds the App in-process (ecomctl synth, the tests);
`infra/app.py` is also the entry point the `cdk` CLI runs (see infra/cdk.json).
"""
