# Guide 004 ("reverse PrivateLink") as Terraform, plus the consumer's interface endpoint:
# two accounts, 16 resources, and the consumer's default VPC as a data source. TestTerraformGuide004 applies it against a Strait server,
# plans again (no changes), and destroys it. The endpoint variable is the server's URL.

variable "endpoint" { type = string }

locals {
  provider_account = "111111111111"
  consumer_account = "222222222222"
}

provider "aws" {
  alias                       = "provider"
  region                      = "us-east-1"
  access_key                  = local.provider_account
  secret_key                  = "dev"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    ec2   = var.endpoint
    elbv2 = var.endpoint
  }
}

provider "aws" {
  alias                       = "consumer"
  region                      = "us-east-1"
  access_key                  = local.consumer_account
  secret_key                  = "dev"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    ec2   = var.endpoint
    elbv2 = var.endpoint
  }
}

# The producer (guide 004): a VPC with a subnet in each of three zones.
resource "aws_vpc" "producer" {
  provider   = aws.provider
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "producer" {
  provider          = aws.provider
  count             = 3
  vpc_id            = aws_vpc.producer.id
  cidr_block        = "10.0.${count.index + 1}.0/24"
  availability_zone = "us-east-1${substr("abc", count.index, 1)}"
}

resource "aws_security_group" "nlb" {
  provider    = aws.provider
  name        = "pl-nlb"
  description = "PrivateLink NLB"
  vpc_id      = aws_vpc.producer.id
}

# Inbound MySQL from the consumer's subnet.
resource "aws_vpc_security_group_ingress_rule" "mysql" {
  provider          = aws.provider
  security_group_id = aws_security_group.nlb.id
  ip_protocol       = "tcp"
  from_port         = 3306
  to_port           = 3306
  cidr_ipv4         = "10.0.1.0/24"
}

resource "aws_lb" "nlb" {
  provider           = aws.provider
  name               = "pl-nlb"
  internal           = true
  load_balancer_type = "network"
  subnets            = aws_subnet.producer[*].id
  security_groups    = [aws_security_group.nlb.id]
}

resource "aws_lb_target_group" "db" {
  provider    = aws.provider
  name        = "pl-nlb-target-group"
  protocol    = "TCP"
  port        = 3306
  vpc_id      = aws_vpc.producer.id
  target_type = "ip"
}

resource "aws_lb_target_group_attachment" "db" {
  provider         = aws.provider
  target_group_arn = aws_lb_target_group.db.arn
  target_id        = "10.0.1.10"
}

resource "aws_lb_listener" "mysql" {
  provider                 = aws.provider
  load_balancer_arn        = aws_lb.nlb.arn
  protocol                 = "TCP"
  port                     = 3306
  tcp_idle_timeout_seconds = 600
  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.db.arn
  }
}

resource "aws_vpc_endpoint_service" "db" {
  provider                   = aws.provider
  acceptance_required        = false
  network_load_balancer_arns = [aws_lb.nlb.arn]
}

resource "aws_vpc_endpoint_service_allowed_principal" "consumer" {
  provider                = aws.provider
  vpc_endpoint_service_id = aws_vpc_endpoint_service.db.id
  principal_arn           = "arn:aws:iam::${local.consumer_account}:root"
}

# The consumer: its own 10.0.0.0/16, a subnet, a security group, an interface endpoint.
resource "aws_vpc" "consumer" {
  provider   = aws.consumer
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "consumer" {
  provider          = aws.consumer
  vpc_id            = aws_vpc.consumer.id
  cidr_block        = "10.0.1.0/24"
  availability_zone = "us-east-1a"
}

resource "aws_security_group" "endpoint" {
  provider    = aws.consumer
  name        = "pl-endpoint"
  description = "Endpoint clients"
  vpc_id      = aws_vpc.consumer.id
  ingress {
    protocol    = "tcp"
    from_port   = 3306
    to_port     = 3306
    cidr_blocks = ["10.0.1.0/24"]
  }
}

resource "aws_vpc_endpoint" "db" {
  provider           = aws.consumer
  vpc_id             = aws_vpc.consumer.id
  service_name       = aws_vpc_endpoint_service.db.service_name
  vpc_endpoint_type  = "Interface"
  subnet_ids         = [aws_subnet.consumer.id]
  security_group_ids = [aws_security_group.endpoint.id]
  depends_on         = [aws_vpc_endpoint_service_allowed_principal.consumer]
}

# The consumer's default VPC, as Terraform finds it (DescribeVpcs, isDefault=true).
data "aws_vpc" "consumer_default" {
  provider = aws.consumer
  default  = true
}

output "consumer_default_vpc_cidr" { value = data.aws_vpc.consumer_default.cidr_block }
output "endpoint_id" { value = aws_vpc_endpoint.db.id }
output "endpoint_dns" { value = aws_vpc_endpoint.db.dns_entry[0].dns_name }
output "listener_arn" { value = aws_lb_listener.mysql.arn }
output "service_name" { value = aws_vpc_endpoint_service.db.service_name }
