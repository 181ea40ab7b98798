from rest_framework import serializers

from apps.alerts.models import SystemAlert


class SystemAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = SystemAlert
        fields = ["id", "severity", "title", "message", "source", "created_by", "created_at"]
        read_only_fields = ["created_by", "created_at"]
