"""boto3-shaped clients over the lab's components."""
