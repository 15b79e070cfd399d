#!/usr/bin/env python3
"""sam-transform.py TEMPLATE [Name=Value ...]: print the CloudFormation that AWS's SAM transform
(aws-sam-translator, the library CloudFormation runs for
Transform: AWS::Serverless-2016-10-31) makes of TEMPLATE, as JSON.

Name=Value pairs are parameter values, as CloudFormation passes them to the
transform. Each function's local CodeUri becomes s3://package-bucket/<LogicalId>.zip, as
`sam package` would upload it; nothing reaches AWS (the region is only a
default for ARNs, and no managed policy is looked up by name).
"""
import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

try:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
except ImportError as exc:  # pragma: no cover - reported by the Go test
    sys.exit("sam-transform: aws-sam-translator is not installed in this python3 (%s)" % exc)


class NoManagedPolicies:
    """The template names no managed policy, so none needs an IAM look-up."""

    def load(self):
        return {}


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: sam-transform.py TEMPLATE [Name=Value ...]")
    params = dict(arg.split("=", 1) for arg in sys.argv[2:])
    with open(sys.argv[1]) as f:
        template = yaml_parse(f.read())
    for logical_id, res in template.get("Resources", {}).items():
        if res.get("Type") == "AWS::Serverless::Function":
            res.setdefault("Properties", {})["CodeUri"] = "s3://package-bucket/%s.zip" % logical_id
    out = transform(template, params, NoManagedPolicies())
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
