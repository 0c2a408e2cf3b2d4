def hello(name):
    print("hello")
