from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from . import services
from .models import Follow, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "display_name", "follower_count", "following_count", "post_count", "date_joined")
    search_fields = ("username", "email", "display_name")
    ordering = ("-date_joined",)
    readonly_fields = ("follower_count", "following_count", "post_count", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("email", "display_name", "bio", "avatar_url")}),
        ("Counters", {"fields": ("follower_count", "following_count", "post_count")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),)

    # Deleting through the service keeps other users' and posts' counters exact.
    def delete_model(self, request, obj):
        services.user_delete(obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.user_delete(user)


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followee", "created_at")
    raw_id_fields = ("follower", "followee")
    ordering = ("-created_at",)

    # Unfollowing through the service keeps both users' counters exact.
    def delete_model(self, request, obj):
        services.follow_delete(follower=obj.follower, followee=obj.followee)

    def delete_queryset(self, request, queryset):
        for follow in queryset.select_related("follower", "followee"):
            services.follow_delete(follower=follow.follower, followee=follow.followee)
